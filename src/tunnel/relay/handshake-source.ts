// Who a tunnel handshake comes from, for the limits on failed handshakes. Behind the platform's gateway
// the TCP peer is the gateway, the same for every client; the gateway appends the address it saw to
// X-Forwarded-For. The relay believes that last entry only when the peer is a proxy it trusts
// (loopback by default: the embedded platform's gateway; `--trust-proxy` adds ranges), and never the
// entries before it, which any client can write. Hand-written rather than proxy-addr: the relay
// image ships only ws, and the rule is these few lines on top of net.BlockList.
import type http from 'node:http'
import net from 'node:net'

/** The embedded platform's gateway reaches instances over loopback. */
export const DEFAULT_TRUSTED_PROXIES = ['127.0.0.0/8', '::1/128']

export class TrustedProxies {
  private readonly ranges = new net.BlockList()

  /** `cidrs`: `address/prefix` or a bare address; throws on anything else. */
  constructor(readonly cidrs: string[]) {
    for (const cidr of cidrs) {
      const [address = '', prefix] = cidr.trim().split('/')
      const family = net.isIP(address)
      const bits = prefix === undefined ? (family === 6 ? 128 : 32) : Number(prefix)
      if (family === 0 || !Number.isInteger(bits) || bits < 0 || bits > (family === 6 ? 128 : 32)) throw new Error(`--trust-proxy ${cidr} is not an address or ADDRESS/PREFIX`)
      this.ranges.addSubnet(address, bits, family === 6 ? 'ipv6' : 'ipv4')
    }
  }

  has(address: string): boolean {
    const family = net.isIP(address)
    return family !== 0 && this.ranges.check(address, family === 6 ? 'ipv6' : 'ipv4')
  }
}

/** The client's address: the TCP peer, or the last X-Forwarded-For entry when the peer is a trusted proxy. */
export function handshakeSource(req: http.IncomingMessage, trusted: TrustedProxies): string {
  const peer = plainAddress(req.socket.remoteAddress ?? '')
  if (!trusted.has(peer)) return peer
  // The last entry, across repeated headers too, is the one the proxy appended.
  const header = req.headers['x-forwarded-for'] ?? ''
  const forwarded = plainAddress((Array.isArray(header) ? header.join(',') : header).split(',').pop()?.trim() ?? '')
  return net.isIP(forwarded) ? forwarded : peer
}

/**
 * The key failures are counted under: an IPv4 address, or the /64 of an IPv6 address (one host or
 * site usually holds a whole /64, so counting its addresses one by one would let it dodge the limit).
 */
export function sourceKey(address: string): string {
  if (net.isIP(address) !== 6) return address
  const [head = '', tail] = address.toLowerCase().split('::')
  const groups = (text: string): string[] => (text === '' ? [] : text.split(':'))
  const left = groups(head)
  const right = tail === undefined ? [] : groups(tail)
  const all = [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
  return `${all.slice(0, 4).map((group) => Number.parseInt(group, 16).toString(16)).join(':')}::/64`
}

/** `::ffff:1.2.3.4` → `1.2.3.4`; `[::1]` → `::1`; `1.2.3.4:5678` → `1.2.3.4`. */
function plainAddress(text: string): string {
  let address = text.replace(/^\[([^\]]+)\](?::\d+)?$/, '$1')
  if (net.isIP(address) === 0) address = address.replace(/^(\d+\.\d+\.\d+\.\d+):\d+$/, '$1')
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  return mapped?.[1] ?? address
}
