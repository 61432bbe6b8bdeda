// Which user's network a loopback source address belongs to. Private IPs are 127.(16+u).x.y and
// backends 127.(32+u).x.y (u = user index 0..15); everything else on loopback is the host.

export const PRIVATE_BASE = 16
export const BACKEND_BASE = 32
const USERS = 16

/** The user index an address belongs to, or undefined for host addresses (127.0.0.1, ::1, ...). */
export function networkIndexOf(address: string | undefined): number | undefined {
  if (!address) return undefined
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address
  const parts = v4.split('.')
  if (parts.length !== 4 || parts[0] !== '127') return undefined
  const second = Number(parts[1])
  if (second >= PRIVATE_BASE && second < PRIVATE_BASE + USERS) return second - PRIVATE_BASE
  if (second >= BACKEND_BASE && second < BACKEND_BASE + USERS) return second - BACKEND_BASE
  return undefined
}

/** True when a connection from `source` may use an endpoint of user network `index`. */
export function mayConnect(source: string | undefined, index: number): boolean {
  const from = networkIndexOf(source)
  return from === undefined || from === index
}

/**
 * The same rule for the kernel (nftables, isolation/loopback-firewall.ts), per user network: the
 * range of its backends, and the source ranges refused there — every other user's private and
 * backend range.
 */
export function networkRanges(): Array<{backends: string; foreign: string[]}> {
  const range = (second: number): string => `127.${second}.0.0/16`
  return Array.from({length: USERS}, (_, index) => ({
    backends: range(BACKEND_BASE + index),
    foreign: Array.from({length: USERS}, (_, other) => other)
      .filter((other) => other !== index)
      .flatMap((other) => [range(PRIVATE_BASE + other), range(BACKEND_BASE + other)]),
  }))
}
