// Published ports, handlers and domains of a service, checked with the real rules (reference §2.6).
import type {Handler, ServicePort} from '../types.js'
import {invalid} from './failures.js'
import {type Json, intInRange, isObject, onlyKnown} from './fields.js'
import {isFqdn} from './names.js'
import type {RefEntry} from './refs.js'

const HANDLERS: readonly Handler[] = ['tls', 'http', 'redirect']

/** What a port publishes when the request names no handlers. */
function defaultHandlers(port: number): Handler[] {
  if (port === 443) return ['http', 'tls']
  if (port === 80) return ['http', 'redirect']
  return ['tls']
}

function handlerRule(port: number, handlers: Handler[]): string | undefined {
  const has = (h: Handler) => handlers.includes(h)
  if (port === 80) {
    if (!has('http') || has('tls')) return "Port 80 must have the 'http' handler and must not have the 'tls' handler"
    return undefined
  }
  if (has('redirect')) return "The 'redirect' handler is only allowed on port 80"
  if (port === 443) {
    if (!has('http') || !has('tls')) return "Port 443 must have the 'http' and 'tls' handlers"
    return undefined
  }
  if (!has('tls') || has('http')) return `Port ${port} must have the 'tls' handler and must not have the 'http' handler`
  return undefined
}

export function servicePorts(value: unknown): ServicePort[] {
  if (value === undefined || value === null) return []
  if (!Array.isArray(value)) throw invalid("Value of 'services' must be an array")
  const seen = new Set<number>()
  return value.map((entry: unknown) => {
    if (!isObject(entry)) throw invalid("Value of 'services' must be an array of service port descriptions")
    onlyKnown(entry, ['port', 'destination_port', 'handlers'], 'services.')
    if (entry.port === undefined) throw invalid("Value of 'port' in service port description is required")
    const port = intInRange(entry, 'port', 1, 65535, 0, "Value of 'port' in service port description")
    const destination = intInRange(entry, 'destination_port', 1, 65535, port, "Value of 'destination_port' in service port description")
    let handlers: Handler[]
    if (entry.handlers === undefined || entry.handlers === null) {
      handlers = defaultHandlers(port)
    } else {
      if (!Array.isArray(entry.handlers)) throw invalid("Value of 'handlers' must be an array")
      handlers = entry.handlers.map((h: unknown) => {
        if (typeof h !== 'string' || !HANDLERS.includes(h as Handler)) throw invalid(`Unknown handler '${String(h)}' (choice of tls, http, redirect)`)
        return h as Handler
      })
      handlers = [...new Set(handlers)]
    }
    const broken = handlerRule(port, handlers)
    if (broken) throw invalid(broken)
    if (seen.has(port)) throw invalid(`Port ${port} is published more than once`)
    seen.add(port)
    return {port, destination_port: destination, handlers}
  })
}

/** Names that are the machine's or the private network's, never a public service's. */
const RESERVED_SUFFIXES = ['localhost', 'internal']

export interface DomainRequest {
  /** Lower case, no trailing dot. */
  fqdn: string
  /** The certificate to present for it (custom domains only). */
  certificate?: RefEntry
}

/** `x` → `x.<metro domain>`; `a.example.` (trailing dot) → `a.example` as is. */
export function domainNames(value: unknown, metroDomain: string): DomainRequest[] {
  if (value === undefined || value === null) return []
  if (!Array.isArray(value)) throw invalid("Value of 'domains' must be an array")
  const result = value.map((entry: unknown) => {
    if (!isObject(entry)) throw invalid("Value of 'domains' must be an array of domain descriptions")
    onlyKnown(entry, ['name', 'certificate'], 'domains.')
    const fqdn = fqdnOf(entry, metroDomain)
    return entry.certificate === undefined || entry.certificate === null ? {fqdn} : {fqdn, certificate: certificateRef(entry.certificate, fqdn, metroDomain)}
  })
  if (new Set(result.map((d) => d.fqdn)).size !== result.length) throw invalid('Duplicate domain')
  return result
}

function fqdnOf(entry: Json, metroDomain: string): string {
  const name = entry.name
  if (typeof name !== 'string') throw invalid("Value of 'name' in domain description is required")
  // eslint-disable-next-line no-control-regex
  if (name.length === 0 || name.length > 127 || /\s/.test(name) || /[^\x00-\x7f]/.test(name)) throw invalid('Invalid DNS name')
  const lower = name.toLowerCase()
  const fqdn = lower.endsWith('.') ? lower.slice(0, -1) : `${lower}.${metroDomain}`
  if (!isFqdn(fqdn)) throw invalid('Invalid DNS name')
  // Names the platform answers for itself are no one's to claim.
  if (RESERVED_SUFFIXES.some((suffix) => fqdn === suffix || fqdn.endsWith(`.${suffix}`)) && !fqdn.endsWith(`.${metroDomain}`)) throw invalid('Invalid DNS name')
  // Within the metro domain only `<label>.<metro domain>` exists (what a subdomain gives).
  if (fqdn === metroDomain || (fqdn.endsWith(`.${metroDomain}`) && fqdn.slice(0, -metroDomain.length - 1).includes('.'))) throw invalid('Invalid DNS name')
  if (entry.certificate !== undefined && entry.certificate !== null && !lower.endsWith('.')) throw invalid('Certificates are only allowed for fully-qualified domain names')
  return fqdn
}

/** Whether a domain is the user's own (a certificate of theirs, or one the platform CA issues for it) rather than the metro's. */
export function isCustomDomain(fqdn: string, metroDomain: string): boolean {
  return fqdn !== metroDomain && !fqdn.endsWith(`.${metroDomain}`)
}

/** A domain's `certificate`: `{uuid}` or `{name}` of one of the user's certificates. */
function certificateRef(value: unknown, fqdn: string, metroDomain: string): RefEntry {
  if (!isObject(value)) throw invalid("Value of 'certificate' in domain description must be an object with the uuid or the name of a certificate")
  onlyKnown(value, ['uuid', 'name'], 'domains.certificate.')
  const {uuid, name} = value
  if ((uuid !== undefined && typeof uuid !== 'string') || (name !== undefined && typeof name !== 'string') || (uuid === undefined) === (name === undefined)) {
    throw invalid("Value of 'certificate' in domain description must have exactly one of 'uuid' or 'name'")
  }
  // The metro's names are served with its wildcard certificate (OpenAPI: "Subdomains … inherit the wildcard").
  if (!isCustomDomain(fqdn, metroDomain)) throw invalid(`Certificates are only allowed for your own domains, not for names under ${metroDomain}`)
  return {body: value, ...(uuid === undefined ? {} : {uuid}), ...(name === undefined ? {} : {name})} as RefEntry
}

/** Soft and hard connection limits per instance: 1..65535, soft ≤ hard. */
export function limits(body: Json): {soft_limit: number; hard_limit: number} {
  const soft_limit = intInRange(body, 'soft_limit', 1, 65535, 1)
  const hard_limit = intInRange(body, 'hard_limit', 1, 65535, 65535)
  if (soft_limit > hard_limit) throw invalid("Value of 'soft_limit' must not be greater than 'hard_limit'")
  return {soft_limit, hard_limit}
}
