// The client side of legacy mode: one local listener per mapping, one fresh TLS connection to the
// relay per accepted connection (cookie, status, then raw bytes with half-close), and one control
// connection that carries the heartbeat and is redialled with backoff when it drops.
import net from 'node:net'
import type tls from 'node:tls'

import {type LegacyEndpoint, LegacyHandshakeError, dialRelay, exchangeCookie} from './handshake.js'
import {HEARTBEAT, describeStatus} from './protocol.js'

export interface LegacyForwardSpec {
  bind: string
  localPort: number
  exposedPort: number
  /** What the user typed ("db:5432"), for messages. */
  label: string
}

export interface LegacyTunnelOptions {
  forwards: LegacyForwardSpec[]
  heartbeatMs: number
  /** Deadline of each TLS dial and of each cookie exchange. */
  handshakeTimeoutMs: number
  idleTimeoutMs?: number
  log: (line: string) => void
}

export interface LegacySession {
  endpoint: LegacyEndpoint
  cookie: string
  controlPort: number
  relayName: string
}

const MAX_CONTROL_BACKOFF_MS = 30_000

export class LegacyTunnelClient {
  private readonly servers: net.Server[] = []
  private readonly sockets = new Set<net.Socket>()
  private session?: LegacySession
  private control?: tls.TLSSocket
  private heartbeatTimer?: NodeJS.Timeout
  private retryTimer?: NodeJS.Timeout
  private controlFailures = 0
  private closed = false

  constructor(private readonly options: LegacyTunnelOptions) {}

  /** Binds every local port (fails fast, before any relay exists); returns "host:port" per mapping. */
  async listen(): Promise<string[]> {
    const addresses: string[] = []
    for (const forward of this.options.forwards) {
      const host = forward.bind === 'localhost' ? '127.0.0.1' : forward.bind
      const server = net.createServer({allowHalfOpen: true, noDelay: true}, (socket) => this.accept(socket, forward))
      await new Promise<void>((resolve, reject) => {
        server.once('error', (error: NodeJS.ErrnoException) => reject(Object.assign(error, {port: forward.localPort})))
        server.listen({host, port: forward.localPort, exclusive: true}, () => {
          server.removeAllListeners('error')
          resolve()
        })
      })
      server.on('error', (error) => this.options.log(`listener: ${error.message}`))
      this.servers.push(server)
      const {port} = server.address() as net.AddressInfo
      addresses.push(`${host.includes(':') ? `[${host}]` : host}:${port}`)
    }
    return addresses
  }

  get openConnections(): number {
    return this.sockets.size
  }

  /** Opens the control connection (retrying until `timeoutMs`), then serves the listeners. */
  async connect(session: LegacySession, timeoutMs: number): Promise<void> {
    this.session = session
    const deadline = Date.now() + timeoutMs
    let lastError: Error | undefined
    for (let attempt = 0; !this.closed; attempt++) {
      const left = deadline - Date.now()
      if (left <= 0) throw lastError ?? new LegacyHandshakeError('timed out')
      try {
        await this.openControl(Math.min(left, this.options.handshakeTimeoutMs))
        return
      } catch (error) {
        lastError = error as Error
        await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** attempt, 2_000, Math.max(deadline - Date.now(), 0))))
      }
    }
    throw new LegacyHandshakeError('the tunnel was closed')
  }

  private async openControl(timeoutMs: number): Promise<void> {
    const session = this.session
    if (!session) return
    const socket = await dialRelay(session.endpoint, session.controlPort, timeoutMs)
    if (this.closed) {
      socket.destroy()
      return
    }
    // The relay never answers on this port; a close is all we can observe.
    socket.write(Buffer.concat([Buffer.from(session.cookie), HEARTBEAT]))
    socket.on('data', () => undefined)
    socket.on('error', () => undefined)
    socket.once('close', () => this.controlDropped(socket))
    this.control = socket
    this.controlFailures = 0
    clearInterval(this.heartbeatTimer)
    this.heartbeatTimer = setInterval(() => socket.write(HEARTBEAT), this.options.heartbeatMs)
  }

  private controlDropped(socket: tls.TLSSocket): void {
    if (this.control !== socket) return
    this.control = undefined
    clearInterval(this.heartbeatTimer)
    this.scheduleControl('control connection to the relay closed')
  }

  private scheduleControl(why: string): void {
    if (this.closed) return
    const delay = Math.min(500 * 2 ** this.controlFailures++, MAX_CONTROL_BACKOFF_MS)
    this.options.log(`${why}; reconnecting in ${(delay / 1000).toFixed(1)} s (the relay stops when heartbeats stay missing)`)
    this.retryTimer = setTimeout(() => {
      this.openControl(this.options.handshakeTimeoutMs).catch((error: Error) => this.scheduleControl(`control connection: ${error.message}`))
    }, delay)
  }

  private accept(local: net.Socket, forward: LegacyForwardSpec): void {
    local.on('error', () => undefined) // reported through the relay side's outcome
    const session = this.session
    if (!session || this.closed) {
      local.resetAndDestroy()
      return
    }
    this.sockets.add(local)
    local.once('close', () => this.sockets.delete(local))
    local.pause()
    void this.bridge(local, forward, session)
  }

  private async bridge(local: net.Socket, forward: LegacyForwardSpec, session: LegacySession): Promise<void> {
    const {handshakeTimeoutMs, log} = this.options
    let remote: tls.TLSSocket | undefined
    try {
      remote = await dialRelay(session.endpoint, forward.exposedPort, handshakeTimeoutMs)
      const {status, rest} = await exchangeCookie(remote, session.cookie, handshakeTimeoutMs)
      if (status <= 0) throw new LegacyHandshakeError(describeStatus(status, session.relayName), status)
      if (local.destroyed) {
        remote.destroy()
        return
      }
      if (rest.length > 0) local.write(rest)
    } catch (error) {
      remote?.destroy()
      log(`connection to ${forward.label} from ${local.remoteAddress ?? '?'}:${local.remotePort ?? '?'} failed: ${(error as Error).message}`)
      local.resetAndDestroy()
      return
    }
    const peer = remote
    const teardown = (): void => {
      peer.destroy()
      local.destroy()
    }
    peer.once('error', teardown).once('close', () => (local.writableEnded ? local.destroySoon() : local.destroy()))
    local.once('error', teardown).once('close', () => (peer.writableEnded ? peer.destroySoon() : peer.destroy()))
    // pipe() ends the other side on 'end': each direction's FIN is passed on, the other keeps flowing.
    local.pipe(peer)
    peer.pipe(local)
    if (this.options.idleTimeoutMs) {
      local.setTimeout(this.options.idleTimeoutMs, () => {
        log(`closing the connection to ${forward.label}: no traffic for ${Math.round((this.options.idleTimeoutMs ?? 0) / 1000)} s`)
        teardown()
      })
    }
  }

  /** Stops accepting, lets open connections finish for up to `drainMs`, then resets them. */
  async close(drainMs: number): Promise<void> {
    this.closed = true
    await Promise.all(this.servers.filter((s) => s.listening).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
    const deadline = Date.now() + drainMs
    while (this.sockets.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
    for (const socket of this.sockets) socket.destroy()
    clearInterval(this.heartbeatTimer)
    clearTimeout(this.retryTimer)
    this.control?.destroy()
    this.control = undefined
  }
}
