// Where the relay may connect: only the allow-listed "host:port" targets of this tunnel, with
// `*.internal` names looked up in the platform's hosts file (re-read each time: it is rewritten when
// instances come and go), falling back to the system resolver (real Unikraft Cloud's private DNS).
import dns from 'node:dns/promises'
import net, {type LookupFunction} from 'node:net'

import {parsePort} from '../../api/ports.js'
import {resolveInternal} from '../../local/index.js'
import {normaliseTarget} from './config.js'

export interface TargetAddress {
  host: string
  port: number
}

export class TargetNotAllowed extends Error {}
export class TargetLookupFailed extends Error {}

export function splitTarget(target: string): TargetAddress | undefined {
  const match = /^(?:\[([0-9a-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/i.exec(target)
  if (!match) return undefined
  const port = parsePort(match[3])
  if (port === undefined) return undefined
  return {host: (match[1] ?? match[2] ?? '').toLowerCase(), port}
}

export class TargetPolicy {
  private readonly allowed: Set<string>

  constructor(
    allow: string[],
    private readonly hostsFile?: string,
  ) {
    this.allowed = new Set(allow.map(normaliseTarget))
  }

  /** The address to dial for `target`, or throws TargetNotAllowed. Synchronous so the dial starts at once. */
  check(target: string): TargetAddress {
    const wanted = normaliseTarget(target)
    const address = splitTarget(wanted)
    if (!address || !this.allowed.has(wanted)) throw new TargetNotAllowed(`${target} is not a target of this tunnel`)
    return address
  }

  /** For net.connect: `*.internal` from the hosts file, anything else from the system resolver. */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    const reply = (error: Error | null, address = '', family = 4): void => {
      if (typeof options === 'object' && options.all) {
        ;(callback as unknown as (e: Error | null, a: Array<{address: string; family: number}>) => void)(error, error ? [] : [{address, family}])
      } else {
        callback(error, address, family)
      }
    }
    this.resolveName(hostname).then(
      (address) => reply(null, address, net.isIPv6(address) ? 6 : 4),
      (error: Error) => reply(error),
    )
  }

  private async resolveName(name: string): Promise<string> {
    if (net.isIP(name)) return name
    if (this.hostsFile && name.endsWith('.internal')) {
      const ip = resolveInternal(this.hostsFile, name)
      if (ip) return ip
    }
    try {
      return (await dns.lookup(name)).address
    } catch {
      throw Object.assign(new TargetLookupFailed(`${name} did not resolve`), {code: 'ENOTFOUND'})
    }
  }
}
