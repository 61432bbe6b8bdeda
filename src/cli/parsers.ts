// Parsers for the values users type in flags and arguments: port mappings, memory quantities,
// environment variables, volume mounts, durations and domains. Each throws a UsageError with the
// message kraft prints, so scripts written against `kraft cloud` see the same words.
import {UsageError, refOf} from '../api/index.js'
import type {DomainSpec, Handler, ServicePort, VolumeSpec} from '../api/index.js'

export const HANDLERS: readonly Handler[] = ['tls', 'http', 'redirect']

function parsePortNumber(text: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`could not parse port number: "${text}" is not a number`)
  return Number(text)
}

/** One `EXTERNAL:INTERNAL[/HANDLER[+HANDLER…]]` or `PORT[/HANDLERS]` value. */
export function parsePortMapping(value: string): ServicePort {
  let spec = value
  let handlers: Handler[] | undefined
  if (spec.includes('/')) {
    const parts = spec.split('/')
    if (parts.length !== 2) throw new UsageError('malformed port expected format EXTERNAL:INTERNAL[/HANDLER]')
    handlers = parts[1].split('+').map((name) => {
      if (!(HANDLERS as readonly string[]).includes(name)) {
        throw new UsageError(`unknown handler: ${name} (choice of [${HANDLERS.join(' ')}])`)
      }
      return name as Handler
    })
    spec = parts[0]
  }
  let port: number
  let destination: number
  if (spec.includes(':')) {
    const parts = spec.split(':')
    if (parts.length !== 2) throw new UsageError('invalid --port value expected --port EXTERNAL:INTERNAL')
    port = parsePortNumber(parts[0])
    destination = parsePortNumber(parts[1])
  } else {
    port = parsePortNumber(spec)
    destination = port
  }
  return {port, destination_port: destination, ...(handlers ? {handlers} : {})}
}

/**
 * All `--port` values. A single `443:X` without handlers is kraft's shortcut for HTTPS on 443
 * plus a redirect from 80: `443:X/http+tls` and `80:443/http+redirect`.
 */
export function parsePortMappings(values: readonly string[]): ServicePort[] {
  if (values.length === 1 && values[0].startsWith('443:') && !values[0].includes('/')) {
    const https = parsePortMapping(values[0])
    return [
      {port: 443, destination_port: https.destination_port, handlers: ['http', 'tls']},
      {port: 80, destination_port: 443, handlers: ['http', 'redirect']},
    ]
  }
  return values.map(parsePortMapping)
}

/** `443:8080/http+tls` (the SERVICES cell and the inverse of parsePortMapping). */
export function formatPortMapping(port: ServicePort): string {
  const handlers = port.handlers && port.handlers.length > 0 ? `/${port.handlers.join('+')}` : ''
  return `${port.port}:${port.destination_port ?? port.port}${handlers}`
}

const QUANTITY_FACTORS: Record<string, number> = {
  '': 1,
  k: 1e3,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
}

const MiB = 2 ** 20

/**
 * A memory size in MiB: a plain integer is MiB, otherwise a Kubernetes quantity (`512Mi`, `1Gi`,
 * `1G`, `1.5Gi`); at least 1Mi. Fractions of a MiB are dropped, as kraft does.
 */
export function parseMemory(value: string, what = 'memory'): number {
  const text = value.trim()
  if (/^\d+$/.test(text)) {
    const mib = Number(text)
    if (mib < 1) throw new UsageError(`${what} must be at least 1Mi`)
    return mib
  }
  const match = /^(\d+(?:\.\d+)?)([a-zA-Z]*)$/.exec(text)
  const factor = match ? QUANTITY_FACTORS[match[2]] : undefined
  if (!match || factor === undefined) {
    throw new UsageError(`invalid ${what} quantity "${value}"`, 'use MiB as an integer (512) or a quantity such as 512Mi or 1Gi')
  }
  const bytes = Number(match[1]) * factor
  if (bytes < MiB) throw new UsageError(`${what} must be at least 1Mi`)
  return Math.floor(bytes / MiB)
}

/**
 * `KEY=VALUE` pairs; a bare `KEY` takes its value from the local environment (empty when unset).
 * Values are kept whole: unlike kraft's comma-split flags, `A=x,y` is one variable.
 */
export function parseEnv(values: readonly string[], env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const result: Record<string, string> = {}
  for (const value of values) {
    const eq = value.indexOf('=')
    const key = eq === -1 ? value : value.slice(0, eq)
    if (!key) throw new UsageError(`invalid environment variable "${value}": expected KEY=VALUE or KEY`)
    result[key] = eq === -1 ? (env[key] ?? '') : value.slice(eq + 1)
  }
  return result
}

/** `VOLUME:PATH[:ro]` where VOLUME is a name or a UUID. */
export function parseVolume(value: string): VolumeSpec {
  const parts = value.split(':')
  const mode = parts[2]
  if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1] || (mode !== undefined && mode !== 'ro' && mode !== 'rw')) {
    throw new UsageError('invalid syntax for -v|--volume: expected VOLUME:PATH[:ro]')
  }
  return {...refOf(parts[0]), at: parseMountPath(parts[1], '--volume'), readonly: mode === 'ro'}
}

/** Where a volume is mounted in an instance: an absolute path (the API creates it when missing). */
export function parseMountPath(value: string, flag: string): string {
  if (!value.startsWith('/')) throw new UsageError(`invalid ${flag} mount path "${value}": expected an absolute path such as /data`)
  return value
}

const DURATION_UNITS: Record<string, number> = {ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000}

/** A Go-style duration (`500ms`, `10s`, `1m30s`, `1.5h`) in milliseconds; at least `minMs`. */
export function parseDuration(value: string, options: {flag?: string; minMs?: number} = {}): number {
  const flag = options.flag ? `${options.flag} ` : ''
  const text = value.trim()
  const unitPattern = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y
  let total = 0
  let consumed = 0
  if (text !== '0') {
    for (let match = unitPattern.exec(text); match; match = unitPattern.exec(text)) {
      total += Number(match[1]) * DURATION_UNITS[match[2]]
      consumed = unitPattern.lastIndex
    }
    if (consumed === 0 || consumed !== text.length) {
      throw new UsageError(`invalid ${flag}duration "${value}"`, 'use a number with a unit: 500ms, 10s, 1m, 1h30m')
    }
  }
  const ms = Math.round(total)
  const min = options.minMs ?? 0
  if (ms < min) throw new UsageError(`${flag}duration must be at least ${min}ms`)
  return ms
}

/**
 * The domains of a new service. Subdomains (trailing `.` stripped) take precedence over domains, as in
 * kraft; a domain is an FQDN and gets a trailing `.` only when it has none (kraft always appended one).
 * Certificates pair with domains by position.
 */
export function parseDomains(input: {domains?: readonly string[]; subdomains?: readonly string[]; certificates?: readonly string[]}): DomainSpec[] {
  const subdomains = input.subdomains ?? []
  const domains = input.domains ?? []
  const certificates = input.certificates ?? []
  if (certificates.length > 0 && certificates.length !== domains.length) {
    throw new UsageError('number of certificates does not match number of domains')
  }
  if (subdomains.length > 0) return subdomains.map((name) => ({name: name.replace(/\.+$/, '')}))
  return domains.map((domain, i) => ({
    name: domain.endsWith('.') ? domain : `${domain}.`,
    ...(certificates[i] ? {certificate: refOf(certificates[i])} : {}),
  }))
}

/**
 * kraft's image reference normalisation: `:latest` when no tag or digest is given, and the
 * `index.unikraft.io/` and `official/` prefixes dropped.
 */
export function normalizeImage(image: string): string {
  let ref = image.trim().replace(/^index\.unikraft\.io\//, '').replace(/^official\//, '')
  const lastSegment = ref.slice(ref.lastIndexOf('/') + 1)
  if (!lastSegment.includes(':') && !lastSegment.includes('@')) ref = `${ref}:latest`
  return ref
}
