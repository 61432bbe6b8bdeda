// Connections the kernel forwards to an instance (nftables DNAT from its private IP to its backend,
// isolation/loopback-firewall.ts) never touch the platform's sockets, so they are counted from the
// kernel's socket tables (/proc/net/tcp and tcp6, this network namespace). A client's socket keeps
// the address it connected to — the private IP:port — as its peer, whether the kernel forwarded it or
// the platform's own private endpoint accepted it; the endpoint's connections are told apart by their
// other end, a socket whose local address is that private IP:port. Linux only; elsewhere nothing is
// counted (no forwarding happens there either).
// Hand-written: a procfs table of hex fields, no library reads it.
import fs from 'node:fs'
import os from 'node:os'

const TABLES = ['/proc/net/tcp', '/proc/net/tcp6']
/**
 * States of a client socket whose connection is still open for the instance: SYN_SENT (a handshake
 * under way), ESTABLISHED, FIN_WAIT1/2 (the client sent its FIN, the instance may still send),
 * CLOSE_WAIT (the instance sent its FIN, the client may still send), CLOSING.
 */
const OPEN_STATES = new Set(['01', '02', '04', '05', '08', '0B'])
const LISTEN = '0A'
const littleEndian = os.endianness() === 'LE'

interface Row {
  local: string
  remote: string
  state: string
}

/** `address:port` of a hex field (IPv4, or IPv4-mapped IPv6); undefined for other IPv6 addresses. */
function decode(field: string): string | undefined {
  const [hex, portHex] = field.split(':')
  if (!hex || !portHex) return undefined
  const bytes: number[] = []
  // Each 32-bit word is printed in host byte order.
  for (let word = 0; word < hex.length; word += 8) {
    const chunk = [0, 2, 4, 6].map((at) => Number.parseInt(hex.slice(word + at, word + at + 2), 16))
    bytes.push(...(littleEndian ? chunk.reverse() : chunk))
  }
  const port = Number.parseInt(portHex, 16)
  if (bytes.length === 4) return `${bytes.join('.')}:${port}`
  const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff
  return mapped ? `${bytes.slice(12).join('.')}:${port}` : undefined
}

function rows(): Row[] {
  const found: Row[] = []
  for (const table of TABLES) {
    let text: string
    try {
      text = fs.readFileSync(table, 'latin1')
    } catch {
      continue // no procfs, or no IPv6
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/)
      if (fields.length < 4) continue
      const local = decode(fields[1] ?? '')
      const remote = decode(fields[2] ?? '')
      if (local && remote) found.push({local, remote, state: fields[3] ?? ''})
    }
  }
  return found
}

/** Open connections to `host` on `ports` that the kernel forwarded (not accepted by a private endpoint). */
export function kernelForwardedConnections(host: string, ports: readonly number[]): number {
  const targets = new Set(ports.map((port) => `${host}:${port}`))
  const table = rows()
  // Peers of the private endpoints' accepted sockets: those clients are the platform's connections.
  const endpointPeers = new Set(table.filter((row) => targets.has(row.local) && row.state !== LISTEN).map((row) => row.remote))
  return table.filter((row) => targets.has(row.remote) && OPEN_STATES.has(row.state) && !endpointPeers.has(row.local)).length
}
