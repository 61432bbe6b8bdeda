// `[LOCAL_PORT:]<INSTANCE|PRIVATE_IP|PRIVATE_FQDN>:DEST_PORT[/tcp]` → TunnelMapping, with one-line
// errors for every malformed form (kraft panicked on a bare port); and the mappings' targets
// resolved as the relay dials them (instance names → private IPs).
import net from 'node:net'

import {type Instance, MAX_PORT, NotFoundError, type UkcClient, UsageError, allOrThrow, getInstances, isUuid, parsePort} from '../api/index.js'

export type TargetKind = 'instance' | 'ip' | 'fqdn'

export interface TunnelMapping {
  /** 0 = a free port. */
  localPort: number
  /** Instance name/UUID, IP (no brackets) or `*.internal` name. */
  host: string
  kind: TargetKind
  destPort: number
  /** The argument as typed. */
  spec: string
}

const USAGE = 'use [LOCAL_PORT:]<INSTANCE|PRIVATE_IP|PRIVATE_FQDN>:DEST_PORT[/tcp], e.g. 15432:db:5432'

export function parseMapping(spec: string): TunnelMapping {
  const input = spec.trim()
  let body = input
  const slash = input.lastIndexOf('/')
  if (slash !== -1) {
    const protocol = input.slice(slash + 1).toLowerCase()
    body = input.slice(0, slash)
    if (protocol === 'udp') throw new UsageError(`${spec}: UDP is not supported; ukc tunnel forwards TCP only`)
    if (protocol !== 'tcp') throw new UsageError(`${spec}: unknown protocol "${protocol}"`, USAGE)
  }
  let local: string | undefined
  let host: string
  let dest: string
  const bracketed = /^(?:([^:[\]]*):)?\[([^\]]*)\]:([^:]*)$/.exec(body)
  if (bracketed) {
    ;[, local, host = '', dest = ''] = bracketed
    if (!net.isIPv6(host)) throw new UsageError(`${spec}: [${host}] is not an IPv6 address`, USAGE)
  } else {
    const parts = body.split(':')
    if (parts.length === 1) {
      throw new UsageError(`${spec}: missing the target; ${/^\d+$/.test(body) ? 'a bare port is not enough' : 'no destination port'}`, USAGE)
    }
    if (parts.length > 3) throw new UsageError(`${spec}: too many ":" (IPv6 targets go in brackets, e.g. [fd00::1]:5432)`, USAGE)
    ;[local, host = '', dest = ''] = parts.length === 3 ? parts : [undefined, ...parts]
  }
  if (host === '') throw new UsageError(`${spec}: missing the target`, USAGE)
  if (/^\d+$/.test(host)) throw new UsageError(`${spec}: "${host}" is not an instance, private IP or private FQDN`, USAGE)
  const destPort = port(spec, dest, 'destination', false)
  const localPort = local === undefined ? destPort : port(spec, local, 'local', true)
  const kind: TargetKind = net.isIP(host) ? 'ip' : host.toLowerCase().endsWith('.internal') ? 'fqdn' : 'instance'
  return {localPort, host: kind === 'instance' ? host : host.toLowerCase(), kind, destPort, spec: input}
}

/** Parses every argument and refuses duplicates (the same local port twice). */
export function parseMappings(specs: string[]): TunnelMapping[] {
  if (specs.length === 0) throw new UsageError('no port mapping given', USAGE)
  const mappings = specs.map(parseMapping)
  const seen = new Map<number, string>()
  for (const m of mappings) {
    if (m.localPort === 0) continue
    const other = seen.get(m.localPort)
    if (other !== undefined) throw new UsageError(`${m.spec}: local port ${m.localPort} is already used by ${other}`, 'give each mapping its own LOCAL_PORT, or 0 for a free one')
    seen.set(m.localPort, m.spec)
  }
  return mappings
}

/** "host:port" for the relay's allow-list and OPEN frames. */
export function targetAddress(host: string, port: number): string {
  return `${net.isIPv6(host) ? `[${host}]` : host}:${port}`
}

/** `--bind` value without IPv6 brackets. */
export function parseBind(value: string): string {
  const bind = value.trim().replace(/^\[(.*)\]$/, '$1')
  if (bind === '' || (bind.includes(':') && !net.isIPv6(bind))) throw new UsageError(`--bind ${value}: not an address`, 'e.g. --bind 127.0.0.1 or --bind [::1]')
  return bind
}

function port(spec: string, text: string, which: string, allowZero: boolean): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${spec}: "${text}" is not a valid ${which} port`, USAGE)
  const value = parsePort(text, {allowZero})
  if (value === undefined) throw new UsageError(`${spec}: ${which} port ${text} is out of range (${allowZero ? 0 : 1}-${MAX_PORT})`, USAGE)
  return value
}

export interface ResolvedMapping extends TunnelMapping {
  /** "host:port" the relay dials (private IP or `*.internal`). */
  target: string
  /** "db:5432", as the user named it. */
  label: string
}

/** Instance names and UUIDs → private IPs (one list call); IPs and `*.internal` pass through. */
export async function resolveMappings(client: UkcClient, mappings: TunnelMapping[]): Promise<ResolvedMapping[]> {
  const named = mappings.filter((m) => m.kind === 'instance')
  let instances: Instance[] = []
  if (named.length > 0) instances = allOrThrow(await getInstances(client))
  return mappings.map((m) => {
    let host = m.host
    if (m.kind === 'instance') {
      const instance = instances.find((i) => (isUuid(m.host) ? i.uuid === m.host.toLowerCase() : i.name === m.host))
      if (!instance) throw new NotFoundError(`instance '${m.host}' not found`, 'list your instances with `ukc instance list`')
      if (!instance.private_ip) throw new UsageError(`instance '${m.host}' has no private IP`, 'tunnel to its private FQDN (<name>.internal) or IP instead')
      host = instance.private_ip
    }
    return {...m, target: targetAddress(host, m.destPort), label: mappingLabel(m)}
  })
}

/** "db:5432": a mapping's target as the user named it, for messages and the ready line. */
export function mappingLabel(mapping: TunnelMapping): string {
  return targetAddress(mapping.host, mapping.destPort)
}
