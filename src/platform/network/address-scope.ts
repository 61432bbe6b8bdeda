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
