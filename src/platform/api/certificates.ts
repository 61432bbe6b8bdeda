// The certificate endpoints — POST/GET/DELETE /certificates, GET/DELETE /certificates/{uuid} — and
// which certificate a service's custom domain presents: the one given with it, else one of the
// user's that is valid for it (the real API "picks the certificate with the matching CN"), else a new
// one from the platform CA, kept as a certificate object `<fqdn>-xxxxx` like the one the real cloud
// requests from Let's Encrypt (it outlives the service and is deleted separately). The rules live in
// certificate-rules.ts.
import crypto from 'node:crypto'

import {ErrorCode} from '../../api/types.js'
import type {CertificateFacts} from '../tls/index.js'
import type {CertificateMaterial, CertificateRecord, UserRecord} from '../types.js'
import {
  checkCertificateQuota,
  checkDeletable,
  checkPresentable,
  defaultCertificateName,
  describeIssued,
  inspectUpload,
  readUpload,
} from './certificate-rules.js'
import type {ApiContext} from './context.js'
import {type EnvelopeBody, eachItem, envelope} from './envelope.js'
import {ItemFailure, alreadyExists, invalid} from './failures.js'
import {randomSuffix} from './names.js'
import {presentCertificate} from './present.js'
import {type RefEntry, lookup, refEntries} from './refs.js'
import {isCustomDomain} from './service-spec.js'

const KEY = 'certificates'

/** A certificate to store together with the service that presents it. */
export interface NewCertificate {
  record: CertificateRecord
  material: CertificateMaterial
}

// ---- POST /certificates

export async function createCertificates(ctx: ApiContext, user: UserRecord, body: unknown): Promise<EnvelopeBody> {
  const upload = readUpload(body)
  const items = await eachItem([upload], (u) => ({name: u.name}), async (u) => {
    const facts = inspectUpload(u)
    // From here to the store, synchronous: nothing can claim the name in between.
    checkCertificateQuota(ctx, user, 1)
    const record = newRecord(ctx, user, facts, u.name)
    ctx.store.setCertificate(record, {cert: u.chain, key: u.pkey})
    await ctx.store.flush()
    return {status: 'success', uuid: record.uuid, name: record.name}
  })
  return envelope(KEY, items)
}

// ---- GET /certificates

export async function getCertificates(ctx: ApiContext, user: UserRecord, body: unknown, query: URLSearchParams): Promise<EnvelopeBody> {
  const details = query.get('details') !== 'false'
  const show = (record: CertificateRecord) => (details ? presentCertificate(ctx, record) : {status: 'success' as const, uuid: record.uuid, name: record.name})
  const entries = refEntries(body, query)
  if (!entries) return envelope(KEY, ctx.store.listCertificates(user.uuid).map(show))
  return envelope(KEY, await eachItem(entries, (e) => e, async (e) => show(findCertificate(ctx, user, e))))
}

// ---- DELETE /certificates

export async function deleteCertificates(ctx: ApiContext, user: UserRecord, body: unknown, query: URLSearchParams): Promise<EnvelopeBody> {
  const entries = refEntries(body, query)
  if (!entries) throw invalid('Malformed request: name the certificates to delete (an array of objects with a uuid or a name)')
  const items = await eachItem(entries, (e) => e, async (e) => {
    const record = findCertificate(ctx, user, e)
    checkDeletable(ctx, record)
    ctx.store.removeCertificate(record.uuid)
    await ctx.store.flush()
    return {status: 'success', uuid: record.uuid, name: record.name}
  })
  return envelope(KEY, items)
}

// ---- the certificates of a new service's domains

/**
 * Before a service is staged (issuing is asynchronous, staging is not): a platform certificate for
 * each custom domain that is given without one and that none of the user's certificates is valid for.
 */
export async function issueForDomains(ctx: ApiContext, user: UserRecord, domains: string[], given: Record<string, RefEntry>): Promise<Map<string, CertificateMaterial>> {
  const needed = domains.filter((fqdn) => isCustomDomain(fqdn, ctx.domain) && given[fqdn] === undefined && matching(ctx, user, fqdn) === undefined)
  return new Map(await Promise.all(needed.map(async (fqdn): Promise<[string, CertificateMaterial]> => [fqdn, await ctx.issueCertificate(fqdn)])))
}

/**
 * Which certificate each of the service's custom domains presents (domain → uuid), and the platform
 * certificates to store with the service. Checks everything, stores nothing; synchronous.
 */
export function bindCertificates(
  ctx: ApiContext,
  user: UserRecord,
  domains: string[],
  given: Record<string, RefEntry>,
  issued: Map<string, CertificateMaterial>,
): {bindings: Record<string, string>; created: NewCertificate[]} {
  const bindings: Record<string, string> = {}
  const created: NewCertificate[] = []
  for (const fqdn of domains) {
    const ref = given[fqdn]
    if (ref !== undefined) {
      const record = findCertificate(ctx, user, ref)
      checkPresentable(record, materialOf(ctx, record), fqdn)
      bindings[fqdn] = record.uuid
      continue
    }
    if (!isCustomDomain(fqdn, ctx.domain)) continue
    const existing = matching(ctx, user, fqdn)
    const material = issued.get(fqdn)
    if (existing !== undefined) bindings[fqdn] = existing.uuid
    else if (material !== undefined) {
      const taken = new Set(created.map((c) => c.record.name))
      const record = newRecord(ctx, user, describeIssued(material), undefined, taken)
      created.push({record, material})
      bindings[fqdn] = record.uuid
    }
    // Else a certificate it would have matched was deleted meanwhile: the gateway's CA leaf serves it.
  }
  checkCertificateQuota(ctx, user, created.length)
  return {bindings, created}
}

// ----

/** The user's certificate that `fqdn` would present: valid now, its names cover the domain; its exact CN first, then the oldest. */
function matching(ctx: ApiContext, user: UserRecord, fqdn: string): CertificateRecord | undefined {
  const candidates = ctx.store
    .listCertificates(user.uuid)
    .filter((record) => {
      try {
        checkPresentable(record, materialOf(ctx, record), fqdn)
        return true
      } catch (error) {
        if (error instanceof ItemFailure) return false
        throw error
      }
    })
    .sort((a, b) => Number(b.common_name === fqdn) - Number(a.common_name === fqdn) || a.created_at.localeCompare(b.created_at))
  return candidates[0]
}

function materialOf(ctx: ApiContext, record: CertificateRecord): CertificateMaterial {
  const material = ctx.store.certificateMaterial(record.uuid)
  if (material === undefined) throw new Error(`certificate ${record.uuid} has no chain and key in the store`)
  return material
}

function findCertificate(ctx: ApiContext, user: UserRecord, entry: RefEntry): CertificateRecord {
  return lookup(entry, 'certificate', (uuid) => ctx.store.certificate(uuid), (name) => ctx.store.certificateByName(user.uuid, name), user.uuid)
}

/** A new record; a given name must be free, else `<cn>-xxxxx`. `taken`: names planned but not stored yet. */
function newRecord(
  ctx: ApiContext,
  user: UserRecord,
  facts: CertificateFacts & {commonName: string},
  name?: string,
  taken = new Set<string>(),
): CertificateRecord {
  if (name !== undefined && ctx.store.certificateByName(user.uuid, name)) throw alreadyExists(`Certificate with name '${name}' already exists`)
  for (let tries = 0; name === undefined; tries++) {
    const candidate = defaultCertificateName(facts.commonName, randomSuffix(5))
    if (!taken.has(candidate) && !ctx.store.certificateByName(user.uuid, candidate)) name = candidate
    else if (tries > 50) throw new ItemFailure(ErrorCode.NoFree, 'Could not generate a free certificate name')
  }
  return {
    uuid: crypto.randomUUID(),
    name,
    user: user.uuid,
    created_at: new Date().toISOString(),
    common_name: facts.commonName,
    subject: facts.subject,
    issuer: facts.issuer,
    serial_number: facts.serialNumber,
    not_before: facts.notBefore.toISOString(),
    not_after: facts.notAfter.toISOString(),
  }
}
