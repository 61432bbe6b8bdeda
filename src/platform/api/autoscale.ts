// The autoscale endpoints (reference §2.4, §2.7): the configuration at `/services/autoscale` (batch,
// key `service_groups`) and `/services/{uuid}/autoscale`, its policies at
// `/services/{uuid}/autoscale/policies[/{name}]` (key `policies`). The configuration lives on the
// service record; the autoscaler (../autoscale) acts on it.
import {type AutoscaleConfig, ErrorCode} from '../../api/types.js'
import type {Autoscaler} from '../autoscale/index.js'
import type {AutoscaleStepPolicy, ServiceRecord, UserRecord} from '../types.js'
import type {ApiContext} from './context.js'
import {type EnvelopeBody, eachItem, envelope, failedItem} from './envelope.js'
import {ItemFailure, invalid, notFound} from './failures.js'
import {isObject} from './fields.js'
import {autoscaleRecord, readAutoscaleRequest, readPolicy} from './autoscale-spec.js'
import {type RefEntry, lookup, refEntries} from './refs.js'
import {findService} from './services.js'

const KEY = 'service_groups'
const POLICY_KEY = 'policies'

export class AutoscaleOperations {
  constructor(
    private readonly ctx: ApiContext,
    private readonly autoscaler: Autoscaler,
  ) {}

  // ---- the configuration

  async create(user: UserRecord, body: unknown): Promise<EnvelopeBody> {
    const requests = (Array.isArray(body) ? body : [body]).map(readAutoscaleRequest)
    if (requests.length === 0) throw invalid('Malformed request: expected a JSON object')
    const items = await eachItem(requests, (r) => r.service, async (request) => {
      const service = findService(this.ctx, user, request.service)
      const master = lookup(request.master, 'instance', (uuid) => this.ctx.store.instance(uuid), (name) => this.ctx.store.instanceByName(user.uuid, name), user.uuid)
      const autoscale = autoscaleRecord(service, master, request)
      this.ctx.store.setService({...service, autoscale})
      await this.ctx.store.flush()
      this.autoscaler.configured(service.uuid)
      return {status: 'success', uuid: service.uuid, name: service.name}
    })
    return envelope(KEY, items)
  }

  /** Every service of the user when none is named; an unconfigured one answers `status: "unconfigured"`. */
  async get(user: UserRecord, body: unknown, query: URLSearchParams): Promise<EnvelopeBody> {
    const entries = refEntries(body, query)
    if (!entries) return envelope(KEY, this.ctx.store.listServices(user.uuid).map((s) => this.present(s)))
    return envelope(KEY, await eachItem(entries, (e) => e, async (e) => this.present(findService(this.ctx, user, e))))
  }

  async delete(user: UserRecord, body: unknown, query: URLSearchParams): Promise<EnvelopeBody> {
    const entries = refEntries(body, query)
    if (!entries) throw invalid('Malformed request: name the services whose autoscale configuration to delete')
    const items = await eachItem(entries, (e) => e, async (e) => {
      const service = this.configured(user, e)
      await this.autoscaler.reset(service, {startMaster: true})
      return {status: 'success', uuid: service.uuid, name: service.name}
    })
    return envelope(KEY, items)
  }

  // ---- policies

  async addPolicy(user: UserRecord, serviceUuid: string, body: unknown): Promise<EnvelopeBody> {
    const policies = (Array.isArray(body) ? body : [body]).map(readPolicy)
    if (policies.length === 0) throw invalid('Malformed request: expected a policy object')
    const items = await eachItem(policies, (p) => ({name: p.name}), async (policy) => {
      const service = this.configured(user, {body: {uuid: serviceUuid}, uuid: serviceUuid})
      const autoscale = service.autoscale as NonNullable<ServiceRecord['autoscale']>
      if (autoscale.policies.some((p) => p.name === policy.name)) throw new ItemFailure(ErrorCode.AlreadyExists, `Policy '${policy.name}' already exists for service '${service.name}'`)
      this.ctx.store.setService({...service, autoscale: {...autoscale, policies: [...autoscale.policies, policy]}})
      await this.ctx.store.flush()
      return {status: 'success', name: policy.name}
    })
    return envelope(POLICY_KEY, items)
  }

  /** One policy by name, or (no name) every policy of the service. */
  async getPolicies(user: UserRecord, serviceUuid: string, name: string | undefined): Promise<EnvelopeBody> {
    if (name === undefined) {
      let service: ServiceRecord
      try {
        service = this.configured(user, {body: {uuid: serviceUuid}, uuid: serviceUuid})
      } catch (error) {
        if (error instanceof ItemFailure) return envelope(POLICY_KEY, [failedItem(error, {uuid: serviceUuid})])
        throw error
      }
      return envelope(POLICY_KEY, (service.autoscale?.policies ?? []).map((p) => ({status: 'success', ...p})))
    }
    const items = await eachItem([name], (n) => ({name: n}), async (n) => ({status: 'success', ...this.policy(user, serviceUuid, n).policy}))
    return envelope(POLICY_KEY, items)
  }

  /** By name in the path, or `[{name}]` in the body. */
  async deletePolicies(user: UserRecord, serviceUuid: string, name: string | undefined, body: unknown): Promise<EnvelopeBody> {
    let names: string[]
    if (name !== undefined) names = [name]
    else {
      const list = Array.isArray(body) ? body : body === undefined ? [] : [body]
      if (list.length === 0 || !list.every((e) => isObject(e) && typeof e.name === 'string')) throw invalid('Malformed request: name the policies to delete ([{"name": …}])')
      names = list.map((e) => (e as {name: string}).name)
    }
    const items = await eachItem(names, (n) => ({name: n}), async (n) => {
      const {service, policy} = this.policy(user, serviceUuid, n)
      const autoscale = service.autoscale as NonNullable<ServiceRecord['autoscale']>
      this.ctx.store.setService({...service, autoscale: {...autoscale, policies: autoscale.policies.filter((p) => p !== policy)}})
      await this.ctx.store.flush()
      return {status: 'success', name: n}
    })
    return envelope(POLICY_KEY, items)
  }

  // ----

  private configured(user: UserRecord, entry: RefEntry): ServiceRecord {
    const service = findService(this.ctx, user, entry)
    if (!service.autoscale) throw new ItemFailure(ErrorCode.AutoscaleNotConfigured, `Autoscale is not configured for service '${service.name}'`)
    return service
  }

  private policy(user: UserRecord, serviceUuid: string, name: string): {service: ServiceRecord; policy: AutoscaleStepPolicy} {
    const service = this.configured(user, {body: {uuid: serviceUuid}, uuid: serviceUuid})
    const policy = service.autoscale?.policies.find((p) => p.name === name.toLowerCase())
    if (!policy) throw notFound(`policy '${name}' of service '${service.name}'`)
    return {service, policy}
  }

  private present(service: ServiceRecord): AutoscaleConfig {
    const config = service.autoscale
    if (!config) return {status: 'unconfigured', uuid: service.uuid, name: service.name, enabled: false}
    const master = this.ctx.store.instance(config.master)
    return {
      status: 'success',
      uuid: service.uuid,
      name: service.name,
      enabled: true,
      min_size: config.min_size,
      max_size: config.max_size,
      warmup_time_ms: config.warmup_time_ms,
      cooldown_time_ms: config.cooldown_time_ms,
      master: {uuid: config.master, ...(master ? {name: master.name} : {})},
      policies: config.policies,
    }
  }
}
