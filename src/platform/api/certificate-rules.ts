// The rules of certificates, each in one place: what an upload must be (the real API's message where
// it is known), what `state` the API reports, which certificate a domain may present, when one may
// be deleted, and how many a user may hold. What the real cloud does and what we chose:
// docs/platform-core.md, "Certificates".
import type {CertificateState} from '../../api/types.js'
import {type CertificateFacts, UnusableCertificate, certificateCovers, checkKeyPair, readCertificate} from '../tls/index.js'
import type {CertificateMaterial, CertificateRecord, UserRecord} from '../types.js'
import type {ApiContext} from './context.js'
import {ErrorCode, ItemFailure, invalid} from './failures.js'
import {isObject, onlyKnown} from './fields.js'
import {isFqdn, validName} from './names.js'

/** The real API's answer (400) when the CN is not a domain name (kraftkit issue #2639). */
export const CN_NOT_FQDN = 'The certificate CN must be a fully-qualified domain name'
/** Per user (our bound: the OpenAPI's lists hold at most 253 items; the quota object counts none). */
export const MAX_CERTIFICATES = 253
/** The OpenAPI's bound on a certificate's name. */
const MAX_NAME = 255

export interface CertificateUpload {
  name?: string
  /** Lower case, no trailing dot; may start with `*.`. */
  cn: string
  chain: string
  pkey: string
}

/** A CN as a name: lower case, no trailing dot; undefined unless it is an FQDN (a leading `*.` allowed). */
function fqdnOfCn(value: string | undefined): string | undefined {
  const cn = value?.trim().toLowerCase().replace(/\.$/, '')
  return cn !== undefined && isFqdn(cn, {wildcard: true}) ? cn : undefined
}

/** POST /certificates: `{name?, cn, chain, pkey}`, PEM strings; 400 for what is malformed. */
export function readUpload(body: unknown): CertificateUpload {
  if (!isObject(body)) throw invalid('Malformed request: expected a JSON object with cn, chain and pkey')
  onlyKnown(body, ['name', 'cn', 'chain', 'pkey'])
  for (const field of ['cn', 'chain', 'pkey'] as const) {
    if (typeof body[field] !== 'string' || (body[field] as string).trim() === '') throw invalid(`Value of '${field}' is required (a string)`)
  }
  const cn = fqdnOfCn(body.cn as string)
  if (cn === undefined) throw invalid(CN_NOT_FQDN)
  return {
    ...(body.name === undefined || body.name === null ? {} : {name: validName(body.name, MAX_NAME)}),
    cn,
    chain: body.chain as string,
    pkey: body.pkey as string,
  }
}

/**
 * What the record of an upload reports, once the upload passed every check: the chain parses, its
 * CN is a domain name and the one given as `cn` (else per-item 30, CertCNMismatch), it has not
 * expired, and the key is the certificate's.
 */
export function inspectUpload(upload: CertificateUpload, now = Date.now()): CertificateFacts & {commonName: string} {
  const facts = readUploaded(upload.chain, upload.pkey)
  const cn = fqdnOfCn(facts.commonName)
  if (cn === undefined) throw invalid(CN_NOT_FQDN)
  if (facts.notAfter.getTime() <= now) throw invalid(`The certificate expired on ${facts.notAfter.toISOString()}`)
  if (cn !== upload.cn) throw new ItemFailure(ErrorCode.CertCNMismatch, `The certificate's CN is '${cn}', not '${upload.cn}'`)
  return {...facts, commonName: cn}
}

/** The chain and key, read; their faults are 400s. */
function readUploaded(chain: string, key: string): CertificateFacts {
  try {
    const facts = readCertificate(chain)
    checkKeyPair(chain, key)
    return facts
  } catch (error) {
    if (error instanceof UnusableCertificate) throw invalid(error.message)
    throw error
  }
}

/** The record's fields read from a certificate the platform CA issued (its CN is the domain). */
export function describeIssued(material: CertificateMaterial): CertificateFacts & {commonName: string} {
  const facts = readCertificate(material.cert)
  return {...facts, commonName: fqdnOfCn(facts.commonName) ?? ''}
}

/**
 * `valid` within its validity period, else `error` (an uploaded certificate is never `pending`: that
 * state is for certificates the real cloud requests from Let's Encrypt).
 */
export function certificateState(record: CertificateRecord, now = Date.now()): CertificateState {
  return Date.parse(record.not_before) <= now && now < Date.parse(record.not_after) ? 'valid' : 'error'
}

/** The default name: `<cn>-<5 random>`, the wildcard part of a wildcard CN cut off (OpenAPI). */
export function defaultCertificateName(cn: string, suffix: string): string {
  const base = cn.replace(/^\*\./, '').slice(0, MAX_NAME - suffix.length - 1).replace(/[-.]+$/, '')
  return `${base}-${suffix}`
}

/** A domain may present the certificate: its names cover the domain, and it has not expired. */
export function checkPresentable(record: CertificateRecord, material: CertificateMaterial, fqdn: string, now = Date.now()): void {
  if (!certificateCovers(material.cert, fqdn)) {
    throw new ItemFailure(ErrorCode.CertCNMismatch, `Certificate '${record.name}' (CN ${record.common_name}) is not valid for domain '${fqdn}'`)
  }
  if (certificateState(record, now) !== 'valid') {
    throw new ItemFailure(ErrorCode.Invalid, `Certificate '${record.name}' is not valid now (valid from ${record.not_before} to ${record.not_after})`)
  }
}

/** Refused while a service presents it (OpenAPI: "Fails if the certificate is still attached to a service"). */
export function checkDeletable(ctx: ApiContext, record: CertificateRecord): void {
  const using = ctx.store.servicesUsing(record.uuid)
  if (using.length > 0) {
    throw new ItemFailure(ErrorCode.Attached, `Certificate '${record.name}' is used by service '${using[0].name}'${using.length > 1 ? ` and ${using.length - 1} other(s)` : ''}; delete the service (or its instances) first`)
  }
}

/** `count` more certificates fit the user's bound, or a per-item 19. */
export function checkCertificateQuota(ctx: ApiContext, user: UserRecord, count: number): void {
  if (ctx.store.listCertificates(user.uuid).length + count > MAX_CERTIFICATES) {
    throw new ItemFailure(ErrorCode.Quota, `Quota exhausted: at most ${MAX_CERTIFICATES} certificates`)
  }
}
