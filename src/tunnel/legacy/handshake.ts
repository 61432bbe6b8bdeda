// One connection to the official relay: TLS to `<fqdn>:<port>` (through the local gateway when there
// is one), the cookie, then the relay's int16 status. Unlike kraft, every step has a deadline.
import tls from 'node:tls'

export interface LegacyEndpoint {
  /** The relay's public FQDN (TLS SNI and certificate name). */
  fqdn: string
  /** Where to dial for a public port: `<fqdn>:<port>`, or the local gateway's mapped port. */
  address: (publicPort: number) => {host: string; port: number}
  /** Extra CA (the local platform's); system roots otherwise. */
  ca?: string
}

export class LegacyHandshakeError extends Error {
  constructor(
    message: string,
    /** The relay's status when it answered one (≤ 0). */
    readonly status?: number,
  ) {
    super(message)
    this.name = 'LegacyHandshakeError'
  }
}

/** A TLS connection to the relay's public port, or a clear error within `timeoutMs`. */
export function dialRelay(endpoint: LegacyEndpoint, publicPort: number, timeoutMs: number): Promise<tls.TLSSocket> {
  const {host, port} = endpoint.address(publicPort)
  return new Promise((resolve, reject) => {
    const socket = tls.connect({host, port, servername: endpoint.fqdn, ca: endpoint.ca, allowHalfOpen: true, noDelay: true} as tls.ConnectionOptions)
    const timer = setTimeout(() => fail(new LegacyHandshakeError(`no TLS connection to ${endpoint.fqdn}:${publicPort} within ${timeoutMs / 1000} s`)), timeoutMs)
    const fail = (error: Error): void => {
      clearTimeout(timer)
      socket.destroy()
      reject(error instanceof LegacyHandshakeError ? error : new LegacyHandshakeError(`cannot reach the relay at ${endpoint.fqdn}:${publicPort}: ${error.message}`))
    }
    socket.once('error', fail)
    socket.once('secureConnect', () => {
      clearTimeout(timer)
      socket.off('error', fail)
      resolve(socket)
    })
  })
}

/**
 * Writes the cookie and reads the 2-byte status. Resolves with the status (> 0: go ahead) and any
 * bytes the relay sent after it (already the target's); rejects when the relay closes or is silent.
 */
export function exchangeCookie(socket: tls.TLSSocket, cookie: string, timeoutMs: number): Promise<{status: number; rest: Buffer}> {
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0)
    const done = (error?: Error, result?: {status: number; rest: Buffer}): void => {
      clearTimeout(timer)
      socket.off('data', onData).off('end', onEnd).off('error', onError)
      socket.pause()
      if (error) reject(error)
      else if (result) resolve(result)
    }
    const onData = (chunk: Buffer): void => {
      received = Buffer.concat([received, chunk])
      if (received.length >= 2) done(undefined, {status: received.readInt16LE(0), rest: received.subarray(2)})
    }
    const onEnd = (): void => done(new LegacyHandshakeError('the relay closed the connection before answering (wrong cookie, or the relay is not ready)'))
    const onError = (error: Error): void => done(new LegacyHandshakeError(`the relay connection failed during the handshake: ${error.message}`))
    const timer = setTimeout(() => done(new LegacyHandshakeError(`the relay did not answer within ${timeoutMs / 1000} s`)), timeoutMs)
    socket.on('data', onData).once('end', onEnd).once('error', onError)
    socket.write(cookie)
  })
}
