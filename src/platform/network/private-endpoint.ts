// A private endpoint: the platform's own listener on an instance's private IP and port. Every
// connection is checked (source must be the host or the same user's network), counted and held
// through the tracker (which wakes a standby instance), then spliced to the instance's backend.
import net from 'node:net'
import {setTimeout as delay} from 'node:timers/promises'

import type {ConnectionTracker, Logger} from '../types.js'
import {mayConnect} from './address-scope.js'
import {splice} from './socket-splice.js'

export interface PrivateEndpointOptions {
  instanceUuid: string
  /** User network index of the instance (source addresses of other indexes are refused). */
  networkIndex: number
  host: string // private IP
  /** Instance port this endpoint serves (what the tracker is asked for). */
  port: number
  /** Port to listen on (the instance port, or a documented unprivileged substitute). */
  listenPort: number
  tracker: ConnectionTracker
  log: Logger
}

export class PrivateEndpoint {
  private readonly server: net.Server
  private readonly sockets = new Set<net.Socket>()
  private refused = 0

  constructor(private readonly options: PrivateEndpointOptions) {
    // pauseOnConnect: nothing is read from the client until the backend is connected (held connection).
    this.server = net.createServer({allowHalfOpen: true, pauseOnConnect: true, noDelay: true}, (socket) =>
      this.accept(socket),
    )
  }

  get address(): string {
    return `${this.options.host}:${this.options.listenPort}`
  }

  /** Connections refused because they came from another user's network (for logs and tests). */
  get refusedCount(): number {
    return this.refused
  }

  /**
   * Binds the endpoint. An address still in use is retried for `retryForMs`: after a crash of the
   * previous platform, its endpoints may be released a moment after the old processes are killed.
   */
  async listen(retryForMs = 0): Promise<void> {
    const deadline = Date.now() + retryForMs
    while (true) {
      try {
        return await this.listenOnce()
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || Date.now() >= deadline) throw error
        await delay(20)
      }
    }
  }

  private listenOnce(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(error)
      this.server.once('error', onError)
      this.server.listen({host: this.options.host, port: this.options.listenPort, backlog: 511}, () => {
        this.server.off('error', onError)
        this.server.on('error', (error) => this.options.log(`private endpoint ${this.address}: ${error.message}`))
        resolve()
      })
    })
  }

  /** Stops accepting new connections; established ones continue (drain). */
  stopAccepting(): void {
    if (this.server.listening) this.server.close()
  }

  /** Stops accepting and resets every connection still open. */
  close(): void {
    this.stopAccepting()
    for (const socket of this.sockets) socket.destroy()
    this.sockets.clear()
  }

  private accept(client: net.Socket): void {
    const {tracker, instanceUuid, port, networkIndex} = this.options
    if (!mayConnect(client.remoteAddress, networkIndex)) {
      this.refused += 1
      client.resetAndDestroy()
      return
    }
    this.sockets.add(client)
    client.on('close', () => this.sockets.delete(client))
    client.on('error', () => {}) // reported through `close`; the splice propagates it
    tracker.open(instanceUuid, port, 'private').then(
      (backend) => {
        if (client.destroyed) {
          tracker.close(instanceUuid)
          return
        }
        const upstream = net.connect({host: backend.host, port: backend.port, allowHalfOpen: true, noDelay: true})
        tracker.meter?.(instanceUuid, upstream)
        this.sockets.add(upstream)
        upstream.on('close', () => this.sockets.delete(upstream))
        splice(client, upstream, {activity: () => tracker.activity(instanceUuid), closed: () => tracker.close(instanceUuid)})
        client.resume()
      },
      () => {
        if (!client.destroyed) client.resetAndDestroy()
      },
    )
  }
}
