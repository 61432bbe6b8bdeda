// A published port other than 80/443: TLS terminated here, then raw TCP to one instance per
// connection (the handler set `tls` without `http`), with half-close passed through.
import net from 'node:net'
import type tls from 'node:tls'
import type {GatewayRoute, Logger, RouteTable} from '../types.js'
import type {Balancer} from './balancer.js'
import {fqdnOf, routeFor} from './host-name.js'
import {joinSockets} from './socket-pair.js'

export interface TcpFrontOptions {
  publicPort: number
  routes: RouteTable
  balancer: Balancer
  log: Logger
}

export class TcpFront {
  constructor(private readonly options: TcpFrontOptions) {}

  readonly onConnection = (socket: tls.TLSSocket): void => {
    socket.on('error', () => socket.destroy())
    const host = fqdnOf(typeof socket.servername === 'string' ? socket.servername : undefined)
    const found = routeFor(this.options.routes, host, this.options.publicPort, this.options.log)
    // No service here: the raw protocol has no way to say so, the connection just closes.
    if (found === undefined) {
      socket.end()
      return
    }
    const {route, port} = found
    this.connect(socket, route, port.destination_port ?? port.port).catch((error: unknown) => {
      this.options.log(`gateway: ${host}:${this.options.publicPort}: ${(error as Error).message}`)
      socket.destroy()
    })
  }

  private async connect(socket: tls.TLSSocket, route: GatewayRoute, destinationPort: number): Promise<void> {
    // Until joined, the client's bytes wait in its socket (not flowing), held by TCP backpressure.
    const lease = await this.options.balancer.acquire(route, destinationPort).catch(() => undefined)
    if (lease === undefined) {
      socket.end()
      return
    }
    if (socket.destroyed) return lease.release()
    const backend = net.connect({host: lease.backend.host, port: lease.backend.port, allowHalfOpen: true})
    lease.meter(backend)
    backend.once('error', (error) => {
      this.options.log(`gateway: instance ${lease.uuid}: ${error.message}`)
      lease.release()
      socket.destroy()
    })
    backend.once('connect', () => {
      backend.removeAllListeners('error')
      // The client may have left while the backend connection was being made.
      if (socket.destroyed) {
        backend.destroy()
        return lease.release()
      }
      joinSockets(socket, backend, lease)
    })
  }
}
