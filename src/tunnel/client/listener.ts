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
  /** One server, or two for `localhost` (127.0.0.1 and ::1 on the same port). */
  private servers: net.Server[] = []
  private readonly sockets = new Set<net.Socket>()
  private boundPort = 0

  constructor(private readonly options: ListenerOptions) {}

  async listen(): Promise<number> {
    if (this.options.bind !== 'localhost') {
      this.servers = [await this.listenOn(this.options.bind, this.options.port)]
    } else {
      // `localhost` means both loopback families, like kubectl port-forward: v4 first (it picks the
      // port when 0), then v6 on the same port where the machine has ::1.
      for (let attempt = 0; ; attempt++) {
        const v4 = await this.listenOn('127.0.0.1', this.options.port)
        const port = (v4.address() as net.AddressInfo).port
        try {
          this.servers = [v4, await this.listenOn('::1', port)]
          break
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code
          if (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT') {
            this.servers = [v4]
            break
          }
          await new Promise<void>((resolve) => v4.close(() => resolve()))
          if (code !== 'EADDRINUSE' || this.options.port !== 0 || attempt >= 5) throw error
        }
      }
    }
    this.boundPort = (this.servers[0]!.address() as net.AddressInfo).port
    for (const server of this.servers) server.on('error', (error) => this.options.log(`listener ${this.address}: ${error.message}`))
    return this.boundPort
  }

  private async listenOn(host: string, port: number): Promise<net.Server> {
    // allowHalfOpen: a local app that shuts down its write side still receives the whole reply.
    const server = net.createServer({allowHalfOpen: true, noDelay: true}, (socket) => this.onConnection(socket))
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => reject(Object.assign(error, {port})))
      server.listen({host, port, exclusive: true, ipv6Only: host === '::1'}, () => {
        server.removeAllListeners('error')
        resolve()
      })
    })
    return server
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
    await Promise.all(this.servers.filter((s) => s.listening).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
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

