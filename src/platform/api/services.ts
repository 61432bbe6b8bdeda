// Services (service groups): explicit ones (POST /services, persistent) and the implicit ones an
// instance create makes (gone with their last instance).
import crypto from 'node:crypto'

import {ErrorCode} from '../../api/types.js'
import type {CertificateMaterial, ServicePort, ServiceRecord, UserRecord} from '../types.js'
import {type NewCertificate, bindCertificates, issueForDomains} from './certificates.js'
import type {ApiContext} from './context.js'
import {eachItem, envelope, type EnvelopeBody} from './envelope.js'
import {ItemFailure, alreadyExists, invalid} from './failures.js'
import {type Json, isObject, onlyKnown} from './fields.js'
import {generatedServiceName, randomSuffix, validName} from './names.js'
import {presentService} from './present.js'
import {type RefEntry, lookup, refEntries} from './refs.js'
import {HARD} from './quotas.js'
import {domainNames, limits, servicePorts} from './service-spec.js'

export interface ServiceDraft {
  name?: string
  services: ServicePort[]
  domains: string[]
  /** The certificates given with custom domains (domain → `{uuid}`/`{name}`). */
  certificates: Record<string, RefEntry>
  soft_limit: number
  hard_limit: number
  persistent: boolean
}

/** Reads a service description (POST /services body, or an instance's `service_group`). */
export function readServiceDraft(ctx: ApiContext, body: Json, persistent: boolean): ServiceDraft {
  const domains = domainNames(body.domains, ctx.domain)
  return {
    ...(body.name === undefined || body.name === null ? {} : {name: validName(body.name)}),
    services: servicePorts(body.services),
    domains: domains.map((d) => d.fqdn),
    certificates: Object.fromEntries(domains.flatMap((d) => (d.certificate ? [[d.fqdn, d.certificate]] : []))),
    ...limits(body),
    persistent,
  }
}

/** A service to store, with the platform certificates made for its custom domains. */
export interface NewService {
  record: ServiceRecord
  certificates: NewCertificate[]
}

/** What a draft needs before it is staged (asynchronous): platform certificates for custom domains given without one. */
export function prepareService(ctx: ApiContext, user: UserRecord, draft: ServiceDraft): Promise<Map<string, CertificateMaterial>> {
  return issueForDomains(ctx, user, draft.domains, draft.certificates)
}

/**
 * A new service record for the draft: checks name and domain clashes, generates what was not
 * given, and chooses the certificate of each custom domain (`issued`: from prepareService).
 * Synchronous, so that nothing can claim the same name between check and store; stores nothing.
 */
export function newServiceRecord(ctx: ApiContext, user: UserRecord, draft: ServiceDraft, issued = new Map<string, CertificateMaterial>()): NewService {
  if (ctx.store.listServices(user.uuid).length >= HARD.service_groups) throw new ItemFailure(ErrorCode.Quota, 'Quota exhausted: too many services')
  if (draft.name && ctx.store.serviceByName(user.uuid, draft.name)) throw alreadyExists(`Service with name '${draft.name}' already exists`)
  let name = draft.name ?? ''
  let domains = draft.domains
  // A named service without domains gets `<name>-<8 random>`, an unnamed one `<adjective>-<noun>-<8 random>`
  // as both its name and its subdomain (§4.3). Retried on the (unlikely) clash.
  for (let tries = 0; !draft.name || draft.domains.length === 0; tries++) {
    if (!draft.name) name = generatedServiceName()
    if (draft.domains.length === 0) domains = [`${draft.name ? `${draft.name}-${randomSuffix(8)}` : name}.${ctx.domain}`]
    const clash = (!draft.name && ctx.store.serviceByName(user.uuid, name)) || (draft.domains.length === 0 && ctx.store.serviceByDomain(domains[0]))
    if (!clash || tries > 20) break
  }
  for (const fqdn of domains) {
    // Taken: the name itself, or a name above or below one another user holds (`api.shop.example`
    // is the holder of `shop.example`'s to give).
    const holder = ctx.store.serviceByDomain(fqdn) ?? ctx.store.listServices().find((s) => s.user !== user.uuid && s.domains.some((d) => fqdn.endsWith(`.${d}`) || d.endsWith(`.${fqdn}`)))
    if (holder) throw alreadyExists(`Domain '${fqdn}' is already in use`)
  }
  const {bindings, created} = bindCertificates(ctx, user, domains, draft.certificates, issued)
  const record: ServiceRecord = {
    uuid: crypto.randomUUID(),
    name,
    user: user.uuid,
    created_at: new Date().toISOString(),
    persistent: draft.persistent,
    soft_limit: draft.soft_limit,
    hard_limit: draft.hard_limit,
    services: draft.services,
    domains,
    ...(Object.keys(bindings).length > 0 ? {certificates: bindings} : {}),
  }
  return {record, certificates: created}
}

/** In memory, like Store.setService: the service and the certificates made for it. */
export function storeService(ctx: ApiContext, service: NewService): void {
  for (const {record, material} of service.certificates) ctx.store.setCertificate(record, material)
  ctx.store.setService(service.record)
}

/** Ports the gateway must serve besides 443 and 80. */
export function extraPorts(service: ServiceRecord): number[] {
  return service.services.map((s) => s.port).filter((p) => p !== 443 && p !== 80)
}

export function findService(ctx: ApiContext, user: UserRecord, entry: RefEntry): ServiceRecord {
  return lookup(entry, 'service', (uuid) => ctx.store.service(uuid), (name) => ctx.store.serviceByName(user.uuid, name), user.uuid)
}

/** Implicit services go with their last instance (in memory; the caller flushes). */
export function releaseIfOrphan(ctx: ApiContext, serviceUuid: string | undefined): void {
  if (!serviceUuid) return
  const service = ctx.store.service(serviceUuid)
  if (service && !service.persistent && ctx.store.attachedInstances(serviceUuid).length === 0) ctx.store.removeService(serviceUuid)
}

const KEY = 'service_groups'

export async function createService(ctx: ApiContext, user: UserRecord, body: unknown): Promise<EnvelopeBody> {
  if (!isObject(body)) throw invalid('Malformed request: expected a JSON object')
  onlyKnown(body, ['name', 'services', 'domains', 'soft_limit', 'hard_limit'])
  const draft = readServiceDraft(ctx, body, true)
  const items = await eachItem([draft], (d) => ({name: d.name}), async (d) => {
    const service = newServiceRecord(ctx, user, d, await prepareService(ctx, user, d))
    storeService(ctx, service)
    await ctx.store.flush()
    await ctx.publish(extraPorts(service.record))
    return presentService(ctx, service.record)
  })
  return envelope(KEY, items)
}

export async function getServices(ctx: ApiContext, user: UserRecord, body: unknown, query: URLSearchParams): Promise<EnvelopeBody> {
  const entries = refEntries(body, query)
  if (!entries) return envelope(KEY, ctx.store.listServices(user.uuid).map((s) => presentService(ctx, s)))
  const items = await eachItem(entries, (e) => e, async (e) => presentService(ctx, findService(ctx, user, e)))
  return envelope(KEY, items)
}

export async function deleteServices(ctx: ApiContext, user: UserRecord, body: unknown, query: URLSearchParams): Promise<EnvelopeBody> {
  const entries = refEntries(body, query)
  if (!entries) throw invalid('Malformed request: name the services to delete')
  const items = await eachItem(entries, (e) => e, async (e) => {
    const service = findService(ctx, user, e)
    const attached = ctx.store.attachedInstances(service.uuid)
    if (attached.length > 0) {
      throw new ItemFailure(ErrorCode.Attached, `Service '${service.name}' still has ${attached.length} instance(s) attached`)
    }
    ctx.store.removeService(service.uuid)
    await ctx.store.flush()
    return {status: 'success', uuid: service.uuid, name: service.name}
  })
  return envelope(KEY, items)
}
