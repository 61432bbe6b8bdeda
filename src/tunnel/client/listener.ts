// One local TCP listener per mapping: each accepted connection becomes a stream of the current relay
// session, or is refused (reset) with a clear message when the relay is unreachable. A failing
// connection never touches the listener or the other connections.
import net from 'node:net'

import {ResetCode} from '../protocol.js'
import type {MuxSession} from '../session.js'

export interface ListenerOptions {
  bind: string
  port: number
  /** "host:port" as the relay expects it (resolved private IP or `*.internal`). */
  target: string
  /** What the user typed, for messages. */
  label: string
  /** The live session, or undefined while the relay is unreachable. */
  session: () => MuxSession | undefined
  /** Why the relay is unreachable and when we retry, for the refusal message. */
  unavailable: () => string
  idleTimeoutMs?: number
  log: (line: string) => void
}

export class TunnelListener {
  private readonly server: net.Server
  private readonly sockets = new Set<net.Socket>()
  private boundPort = 0

  constructor(private readonly options: ListenerOptions) {
    // allowHalfOpen: a local app that shuts down its write side still receives the whole reply.
    this.server = net.createServer({allowHalfOpen: true, noDelay: true}, (socket) => this.onConnection(socket))
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen({host: this.options.bind, port: this.options.port, exclusive: true}, () => {
        this.server.off('error', reject)
        resolve()
      })
    })
    this.boundPort = (this.server.address() as net.AddressInfo).port
    this.server.on('error', (error) => this.options.log(`listener ${this.address}: ${error.message}`))
    return this.boundPort
  }

  get port(): number {
    return this.boundPort
  }

  get address(): string {
    const host = this.options.bind.includes(':') ? `[${this.options.bind}]` : this.options.bind
    return `${host}:${this.boundPort}`
  }

  get openConnections(): number {
    return this.sockets.size
  }

  /** Stops accepting; open connections carry on. */
  async stopAccepting(): Promise<void> {
    if (!this.server.listening) return
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  /** Resets whatever is still open. */
  destroyAll(): void {
    for (const socket of this.sockets) socket.destroy()
  }

  private onConnection(socket: net.Socket): void {
    socket.on('error', () => {
      // Reported through the stream's close; an error here must not reach the process.
    })
    const session = this.options.session()
    if (!session) {
      this.options.log(`refused connection to ${this.options.label} from ${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}: ${this.options.unavailable()}`)
      socket.resetAndDestroy()
      return
    }
    this.sockets.add(socket)
    const stream = session.openStream(socket, this.options.target)
    socket.once('close', () => {
      this.sockets.delete(socket)
    })
    if (this.options.idleTimeoutMs) {
      socket.setTimeout(this.options.idleTimeoutMs, () => stream.abort(ResetCode.IdleTimeout, `no traffic for ${Math.round((this.options.idleTimeoutMs ?? 0) / 1000)} s`))
    }
  }
}

