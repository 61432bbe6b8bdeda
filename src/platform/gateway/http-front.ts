// The HTTP side of a published port (443 http+tls, 80 http or http+redirect), the gateway's one HTTP
// forwarding path: node's server towards clients, undici pools towards instances (exchange.ts);
// per-request routing by SNI/Host and load balancing, X-Forwarded-*, WebSocket upgrades.
import http from 'node:http'
import net from 'node:net'
import type tls from 'node:tls'
import type {GatewayRoute, Logger, RouteTable, ServicePort} from '../types.js'
import type {BackendPools} from './backend-pools.js'
import {type Balancer, GatewayRefusal, type InstanceLease, type LeaseKind} from './balancer.js'
import {Exchange} from './exchange.js'
import {forwardedRequest, upgradeHead} from './forwarding.js'
import {fqdnOf, hostWithPort, routeFor} from './host-name.js'
import {NO_SERVICE, answerHttp, answerRaw, refusalText} from './refusal.js'
import {joinSockets} from './socket-pair.js'

export interface HttpFrontOptions {
  publicPort: number
  secure: boolean
  routes: RouteTable
  balancer: Balancer
  pools: BackendPools
  /** Where public 443 is served locally, for redirects. */
  httpsPort: () => number
  log: Logger
  /** Sockets taken over by upgrades, so the gateway can close them. */
  adopt: (socket: net.Socket) => void
}

type Target = {route: GatewayRoute; port: ServicePort; host: string} | {redirect: string} | {refused: string}

export class HttpFront {
  private readonly proto: 'http' | 'https'

  constructor(private readonly options: HttpFrontOptions) {
    this.proto = options.secure ? 'https' : 'http'
  }

  readonly onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const target = this.target(req)
    if ('refused' in target) return answerHttp(res, 503, target.refused)
    if ('redirect' in target) {
      // 301 keeps what browsers expect for GET; 308 keeps the method and body of anything else.
      const status = req.method === 'GET' || req.method === 'HEAD' ? 301 : 308
      return answerHttp(res, status, `Redirecting to ${target.redirect}`, {location: target.redirect})
    }
    this.proxy(req, res, target.route, target.port).catch((error: unknown) => {
      this.options.log(`gateway: ${target.host}: ${(error as Error).message}`)
      answerHttp(res, 502, 'Bad gateway.')
    })
  }

  readonly onUpgrade = (req: http.IncomingMessage, socket: net.Socket, head: Buffer): void => {
    this.options.adopt(socket)
    socket.on('error', () => socket.destroy())
    const target = this.target(req)
    if ('refused' in target) return answerRaw(socket, 503, 'Service Unavailable', target.refused)
    if ('redirect' in target) return answerRaw(socket, 308, 'Permanent Redirect', `Redirecting to ${target.redirect}`, {Location: target.redirect})
    this.tunnel(req, socket, head, target.route, target.port).catch((error: unknown) => {
      this.options.log(`gateway: ${target.host}: upgrade failed: ${(error as Error).message}`)
      socket.destroy()
    })
  }

  private target(req: http.IncomingMessage): Target {
    const servername = (req.socket as tls.TLSSocket).servername
    const host = fqdnOf(typeof servername === 'string' && servername ? servername : req.headers.host)
    const found = routeFor(this.options.routes, host, this.options.publicPort, this.options.log)
    if (found === undefined) return {refused: NO_SERVICE}
    const {route, port} = found
    if (!this.options.secure && port.handlers?.includes('redirect')) {
      return {redirect: `https://${hostWithPort(host, this.options.httpsPort(), 443)}${req.url ?? '/'}`}
    }
    return {route, port, host}
  }

  private async lease(route: GatewayRoute, port: ServicePort, kind: LeaseKind): Promise<InstanceLease | string> {
    try {
      return await this.options.balancer.acquire(route, port.destination_port ?? port.port, kind)
    } catch (error) {
      if (error instanceof GatewayRefusal) return refusalText(error)
      throw error
    }
  }

  private async proxy(req: http.IncomingMessage, res: http.ServerResponse, route: GatewayRoute, port: ServicePort): Promise<void> {
    const lease = await this.lease(route, port, 'request')
    if (typeof lease === 'string') return answerHttp(res, 503, lease)
    if (res.destroyed) return lease.release()
    lease.activity()
    new Exchange(req, res, lease, forwardedRequest(req, this.proto), this.options.pools, this.options.log).start()
  }

  private async tunnel(req: http.IncomingMessage, socket: net.Socket, head: Buffer, route: GatewayRoute, port: ServicePort): Promise<void> {
    const lease = await this.lease(route, port, 'connection')
    if (typeof lease === 'string') return answerRaw(socket, 503, 'Service Unavailable', lease)
    if (socket.destroyed) return lease.release()
    const backend = net.connect({host: lease.backend.host, port: lease.backend.port, allowHalfOpen: true})
    lease.meter(backend)
    backend.once('error', (error) => {
      this.options.log(`gateway: instance ${lease.uuid}: ${error.message}`)
      lease.release()
      answerRaw(socket, 502, 'Bad Gateway', 'Bad gateway.')
    })
    backend.once('connect', () => {
      backend.removeAllListeners('error')
      if (socket.destroyed) {
        backend.destroy()
        return lease.release()
      }
      // The request head under forwarding.ts's rules; then the two sockets carry the 101 and
      // everything after it untouched.
      backend.write(upgradeHead(req, this.proto))
      if (head.length > 0) backend.write(head)
      joinSockets(socket, backend, lease)
    })
  }
}
