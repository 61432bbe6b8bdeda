// The local side of a tunnel, the same for every relay flavour: one listener per mapping (bound
// before any relay exists, so a busy port fails at once), each accepted connection handed to the
// current relay link or refused with a message, --idle-timeout, and the drain on the way out.
import net from 'node:net'

import {UsageError} from '../api/index.js'
import type {CarriedConnection, RelayLink} from './relay-link.js'

export interface ForwardSpec {
  /** Listen address; `localhost` means both loopback families on one port. */
  bind: string
  /** 0 = any free port. */
  localPort: number
  /** What the user typed ("db:5432"), for messages and the ready line. */
  label: string
}

export interface ActiveForward {
  /** "127.0.0.1:15432", "[::1]:15432", "localhost:15432" */
  local: string
  port: number
  label: string
}

export interface TunnelListenersOptions {
  forwards: ForwardSpec[]
  idleTimeoutMs?: number
  log: (line: string) => void
}

export class TunnelListeners {
  private readonly servers: net.Server[] = []
  private readonly sockets = new Set<net.Socket>()
  private active: ActiveForward[] = []
  private link?: RelayLink
  private onIdle?: () => void

  constructor(private readonly options: TunnelListenersOptions) {}

  /** Binds every mapping's port; on failure nothing stays bound and the error is one line (exit 2). */
  async listen(): Promise<ActiveForward[]> {
    try {
      for (const [index, forward] of this.options.forwards.entries()) {
        const port = await this.listenForward(forward, index)
        const host = forward.bind.includes(':') ? `[${forward.bind}]` : forward.bind
        this.active.push({local: `${host}:${port}`, port, label: forward.label})
      }
    } catch (error) {
      await this.stopAccepting()
      throw listenError(error as NodeJS.ErrnoException & {port?: number}, this.options.forwards)
    }
    return this.active
  }

  get forwards(): ActiveForward[] {
    return this.active
  }

  /** Connections accepted from now on are carried by `link`. */
  use(link: RelayLink): void {
    this.link = link
  }

  get openConnections(): number {
    return this.sockets.size
  }

  /** Stops accepting, then waits until the open connections have ended or `drainMs` has passed. */
  async drain(drainMs: number): Promise<void> {
    this.stopAccepting()
    if (this.sockets.size === 0) return
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        this.onIdle = undefined
        resolve()
      }
      const timer = setTimeout(done, drainMs)
      this.onIdle = done
    })
  }

  /** Stops accepting and resets what is still open. */
  async close(): Promise<void> {
    this.stopAccepting()
    for (const socket of this.sockets) socket.destroy()
  }

  /**
   * Stops listening at once. Not awaiting close()'s callback is deliberate: it only runs once every
   * accepted connection has ended, so a drain would wait for a stalled connection instead of its time.
   */
  private stopAccepting(): void {
    for (const server of this.servers.splice(0)) if (server.listening) server.close()
  }

  /** One server, or two for `localhost` (v4 picks the port when 0, then ::1 on the same port). */
  private async listenForward(forward: ForwardSpec, index: number): Promise<number> {
    if (forward.bind !== 'localhost') return this.listenOn(forward.bind, forward.localPort, index)
    for (let attempt = 0; ; attempt++) {
      const port = await this.listenOn('127.0.0.1', forward.localPort, index)
      try {
        await this.listenOn('::1', port, index)
        return port
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code
        if (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT') return port // no IPv6 loopback here
        const v4 = this.servers.pop()
        await new Promise<void>((resolve) => v4?.close(() => resolve()))
        // A free v4 port can be taken on v6: pick another, a few times.
        if (code !== 'EADDRINUSE' || forward.localPort !== 0 || attempt >= 5) throw error
      }
    }
  }

  private async listenOn(host: string, port: number, index: number): Promise<number> {
    // allowHalfOpen: a local app that shuts down its write side still receives the whole reply.
    const server = net.createServer({allowHalfOpen: true, noDelay: true}, (socket) => this.accept(socket, index))
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => reject(Object.assign(error, {port})))
      server.listen({host, port, exclusive: true, ipv6Only: host === '::1'}, () => {
        server.removeAllListeners('error')
        resolve()
      })
    })
    server.on('error', (error) => this.options.log(`listener ${host}:${port}: ${error.message}`))
    this.servers.push(server)
    return (server.address() as net.AddressInfo).port
  }

  private accept(socket: net.Socket, index: number): void {
    socket.on('error', () => undefined) // each link reports its own outcome; never the process's
    const label = this.options.forwards[index]?.label ?? '?'
    const carried = this.link ? this.link.carry(socket, index) : 'the relay is not connected yet'
    if (typeof carried === 'string') {
      this.options.log(`refused connection to ${label} from ${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}: ${carried}`)
      socket.resetAndDestroy()
      return
    }
    this.sockets.add(socket)
    socket.once('close', () => {
      this.sockets.delete(socket)
      if (this.sockets.size === 0) this.onIdle?.()
    })
    this.armIdleTimeout(socket, carried)
  }

  private armIdleTimeout(socket: net.Socket, carried: CarriedConnection): void {
    const idleMs = this.options.idleTimeoutMs
    if (!idleMs) return
    socket.setTimeout(idleMs, () => carried.abort(`no traffic for ${Math.round(idleMs / 1000)} s`))
  }
}

/** A listener that cannot bind, as one line with a hint. */
function listenError(error: NodeJS.ErrnoException & {port?: number}, forwards: ForwardSpec[]): Error {
  const bind = forwards[0]?.bind ?? '?'
  const where = `${bind.includes(':') ? `[${bind}]` : bind}:${error.port ?? '?'}`
  if (error.code === 'EADDRINUSE') return new UsageError(`cannot listen on ${where}: the port is already in use`, 'pick another LOCAL_PORT, or 0 for a free one')
  if (error.code === 'EACCES') return new UsageError(`cannot listen on ${where}: permission denied`, 'use a LOCAL_PORT above 1023')
  if (error.code === 'EADDRNOTAVAIL') return new UsageError(`cannot listen on ${bind}: no such local address`, 'check --bind')
  return error
}
