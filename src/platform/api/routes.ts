// Method + path → operation. Global scope takes a JSON array body (or ?uuid=/?name=); local scope
// (`/instances/{uuid}/…`) takes the uuid from the path and parameters from the query string.
import {Autoscaler} from '../autoscale/index.js'
import type {UserRecord} from '../types.js'
import {AutoscaleOperations} from './autoscale.js'
import type {ApiContext} from './context.js'
import {type EnvelopeBody, envelope} from './envelope.js'
import {createCertificates, deleteCertificates, getCertificates} from './certificates.js'
import {RequestFailure} from './failures.js'
import {ImageRemoval} from './image-removal.js'
import {instanceMetrics} from './instance-metrics.js'
import {InstanceOperations} from './instances.js'
import {imagesList} from './images.js'
import {HARD, quotasOf} from './quotas.js'
import {createService, deleteServices, getServices} from './services.js'
import {VolumeOperations} from './volumes.js'

export interface ApiRequest {
  method: string
  /** Path below `/v1`, e.g. `/instances/start`. */
  path: string
  query: URLSearchParams
  body: unknown
  user: UserRecord
}

/** Query values as JSON values: numbers and booleans where they parse. */
function queryAsBody(query: URLSearchParams, uuid: string): Record<string, unknown> {
  const body: Record<string, unknown> = {uuid}
  for (const [key, value] of query) {
    if (key === 'uuid' || key === 'name' || key === 'details' || key === 'metrics') continue
    body[key] = value === 'true' ? true : value === 'false' ? false : /^-?\d+$/.test(value) ? Number(value) : value
  }
  return body
}

const NO_QUERY = new URLSearchParams()

/** Only `details` of a local-scope query (`/certificates/{uuid}?details=false`). */
function details(query: URLSearchParams): URLSearchParams {
  const value = query.get('details')
  return value === null ? NO_QUERY : new URLSearchParams({details: value})
}

const INSTANCE_VERBS = ['list', 'start', 'stop', 'wait', 'log', 'console', 'metrics']

export class Router {
  readonly instances: InstanceOperations
  readonly volumes: VolumeOperations
  readonly autoscaler: Autoscaler
  private readonly autoscale: AutoscaleOperations
  private readonly images: ImageRemoval

  constructor(private readonly ctx: ApiContext) {
    this.volumes = new VolumeOperations(ctx)
    this.autoscaler = new Autoscaler({
      store: ctx.store,
      runtime: ctx.runtime,
      meters: ctx.meters,
      remove: (record) => this.instances.remove(record),
      maxInstances: HARD.instances,
      log: ctx.log,
      tickMs: ctx.autoscaleTickMs,
    })
    this.instances = new InstanceOperations(ctx, this.volumes, this.autoscaler)
    this.autoscale = new AutoscaleOperations(ctx, this.autoscaler)
    this.images = new ImageRemoval(ctx)
  }

  async handle(request: ApiRequest): Promise<EnvelopeBody> {
    const {method, path, query, body, user} = request
    const ops = this.instances
    const parts = path.split('/').filter(Boolean)
    const [collection, second, third] = parts
    const route = `${method} /${parts.join('/')}`

    if (collection === 'instances') {
      if (parts.length === 1) {
        if (method === 'POST') return ops.create(user, body)
        if (method === 'GET') return ops.get(user, body, query)
        if (method === 'DELETE') return ops.delete(user, body, query)
      } else if (parts.length === 2) {
        if (second === 'list' && method === 'GET') return ops.list(user)
        if (second === 'start' && method === 'PUT') return ops.start(user, body, query)
        if (second === 'stop' && method === 'PUT') return ops.stop(user, body, query)
        if (second === 'wait' && (method === 'GET' || method === 'PUT')) return ops.wait(user, body, query)
        if ((second === 'log' || second === 'console') && method === 'GET') return ops.log(user, body, query)
        if (second === 'metrics' && method === 'GET') return instanceMetrics(this.ctx, user, body, query)
        if (!INSTANCE_VERBS.includes(second)) {
          const local = [queryAsBody(query, second)]
          if (method === 'GET') return ops.get(user, local, NO_QUERY)
          if (method === 'DELETE') return ops.delete(user, local, NO_QUERY)
        }
      } else if (parts.length === 3) {
        const local = [queryAsBody(query, second)]
        if (third === 'start' && method === 'PUT') return ops.start(user, local, NO_QUERY)
        if (third === 'stop' && method === 'PUT') return ops.stop(user, local, NO_QUERY)
        if ((third === 'log' || third === 'console') && method === 'GET') return ops.log(user, local, NO_QUERY)
        if (third === 'wait' && (method === 'GET' || method === 'PUT')) return ops.wait(user, local, NO_QUERY)
        if (third === 'metrics' && method === 'GET') return instanceMetrics(this.ctx, user, [{uuid: second}], NO_QUERY)
      }
    } else if (collection === 'services') {
      if (parts.length === 1) {
        if (method === 'POST') return createService(this.ctx, user, body)
        if (method === 'GET') return getServices(this.ctx, user, body, query)
        if (method === 'DELETE') return deleteServices(this.ctx, user, body, query)
      } else if (second === 'autoscale' && parts.length === 2) {
        if (method === 'POST') return this.autoscale.create(user, body)
        if (method === 'GET') return this.autoscale.get(user, body, query)
        if (method === 'DELETE') return this.autoscale.delete(user, body, query)
      } else if (parts.length === 2) {
        if (method === 'GET') return getServices(this.ctx, user, [{uuid: second}], NO_QUERY)
        if (method === 'DELETE') return deleteServices(this.ctx, user, [{uuid: second}], NO_QUERY)
      } else if (third === 'autoscale') {
        const policy = parts[4]
        if (parts.length === 3 && method === 'GET') return this.autoscale.get(user, [{uuid: second}], NO_QUERY)
        if (parts.length === 3 && method === 'DELETE') return this.autoscale.delete(user, [{uuid: second}], NO_QUERY)
        if (parts[3] === 'policies' && parts.length <= 5) {
          if (method === 'POST' && parts.length === 4) return this.autoscale.addPolicy(user, second, body)
          if (method === 'GET') return this.autoscale.getPolicies(user, second, policy)
          if (method === 'DELETE') return this.autoscale.deletePolicies(user, second, policy, body)
        }
      }
    } else if (collection === 'images' && second === undefined && method === 'DELETE') {
      return this.images.delete(user, body)
    } else if (collection === 'volumes') {
      const volumes = this.volumes
      if (parts.length === 1) {
        if (method === 'POST') return volumes.create(user, body)
        if (method === 'GET') return volumes.get(user, body, query)
        if (method === 'DELETE') return volumes.delete(user, body, query)
      } else if (parts.length === 2) {
        if (second === 'attach' && method === 'PUT') return volumes.attach(user, body, query)
        if (second === 'detach' && method === 'PUT') return volumes.detach(user, body, query)
        if (second !== 'attach' && second !== 'detach') {
          if (method === 'GET') return volumes.get(user, [{uuid: second}], NO_QUERY)
          if (method === 'DELETE') return volumes.delete(user, [{uuid: second}], NO_QUERY)
        }
      }
    } else if (collection === 'certificates') {
      if (parts.length === 1) {
        if (method === 'POST') return createCertificates(this.ctx, user, body)
        if (method === 'GET') return getCertificates(this.ctx, user, body, query)
        if (method === 'DELETE') return deleteCertificates(this.ctx, user, body, query)
      } else if (parts.length === 2) {
        if (method === 'GET') return getCertificates(this.ctx, user, [{uuid: second}], details(query))
        if (method === 'DELETE') return deleteCertificates(this.ctx, user, [{uuid: second}], NO_QUERY)
      }
    } else if (collection === 'images' && second === 'list' && parts.length === 2 && method === 'GET') {
      return imagesList(this.ctx, body, query)
    } else if (collection === 'users' && method === 'GET') {
      if (parts.length === 2 && second === 'quotas') return envelope('quotas', [quotasOf(this.ctx, user)])
      if (parts.length === 3 && third === 'quotas') {
        if (second !== user.uuid) throw new RequestFailure(404, `No user with UUID '${second}'`)
        return envelope('quotas', [quotasOf(this.ctx, user)])
      }
    }
    throw new RequestFailure(404, `No API endpoint ${route}`)
  }

  /** Stops the autoscaler (before the runtime stops the instances). */
  close(): Promise<void> {
    return this.autoscaler.close()
  }
}
