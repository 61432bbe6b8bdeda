// The HTTP side of a published port (443 http+tls, 80 http or http+redirect): per-request routing by
// SNI/Host, per-request load balancing, keep-alive both ways, X-Forwarded-*, WebSocket upgrades.
import http from 'node:http'
import net from 'node:net'
import type tls from 'node:tls'
import type {GatewayRoute, Logger, RouteTable, ServicePort} from '../types.js'
import type {BackendAgents} from './backend-agents.js'
import {type Balancer, GatewayRefusal, type InstanceLease} from './balancer.js'
import {fqdnOf, hostWithPort, routeFor} from './host-name.js'
import {NO_SERVICE, answerHttp, answerRaw, refusalText} from './refusal.js'
import {joinSockets} from './socket-pair.js'

export interface HttpFrontOptions {
  publicPort: number
  secure: boolean
  routes: RouteTable
  balancer: Balancer
  agents: BackendAgents
  /** Where public 443 is served locally, for redirects. */
  httpsPort: () => number
  log: Logger
  /** Sockets taken over by upgrades, so the gateway can close them. */
  adopt: (socket: net.Socket) => void
}

// Hop-by-hop headers (RFC 9110 §7.6.1) end at the gateway. transfer-encoding stays on requests:
// node's client re-frames a body as chunked when the header says so.
const HOP_BY_HOP_REQUEST = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'expect']
const HOP_BY_HOP_RESPONSE = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'trailer', 'upgrade']
const SAFE_TO_RETRY = new Set(['GET', 'HEAD', 'OPTIONS'])

/** One proxied request: the client side, the instance it went to, and the current backend request. */
interface Exchange {
  req: http.IncomingMessage
  res: http.ServerResponse
  lease: InstanceLease
  headers: http.OutgoingHttpHeaders
  upstream?: http.ClientRequest
}

type Target = {route: GatewayRoute; port: ServicePort; host: string} | {redirect: string} | {refused: string}

export class HttpFront {
  private readonly proto: string

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

  private async lease(route: GatewayRoute, port: ServicePort): Promise<InstanceLease | string> {
    try {
      return await this.options.balancer.acquire(route, port.destination_port ?? port.port)
    } catch (error) {
      if (error instanceof GatewayRefusal) return refusalText(error)
      throw error
    }
  }

  private async proxy(req: http.IncomingMessage, res: http.ServerResponse, route: GatewayRoute, port: ServicePort): Promise<void> {
    const lease = await this.lease(route, port)
    if (typeof lease === 'string') return answerHttp(res, 503, lease)
    if (res.destroyed) return lease.release()
    lease.activity()
    const exchange: Exchange = {req, res, lease, headers: forwardedHeaders(req, this.proto)}
    this.forward(exchange, true)
    // The response's close (finished, or the client gone) ends the request on the instance; a
    // request cut short also cuts the backend connection (it cannot be reused mid-exchange).
    res.once('close', () => {
      lease.release()
      if (!res.writableFinished) exchange.upstream?.destroy()
    })
  }

  private forward(exchange: Exchange, mayRetry: boolean): void {
    const {req, res, lease, headers} = exchange
    const upstream = http.request({
      host: lease.backend.host,
      port: lease.backend.port,
      method: req.method,
      path: req.url,
      headers,
      agent: this.options.agents.for(lease.backend),
    })
    exchange.upstream = upstream
    upstream.on('response', (response) => {
      const responseHeaders = response.headers
      for (const name of HOP_BY_HOP_RESPONSE) delete responseHeaders[name]
      res.writeHead(response.statusCode ?? 502, response.statusMessage, responseHeaders)
      response.pipe(res)
      response.on('error', () => res.destroy())
    })
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      // A kept-alive backend socket can be closed by the backend just as we reuse it; a safe
      // request without a body is sent again, once, on a fresh connection.
      if (mayRetry && upstream.reusedSocket && error.code === 'ECONNRESET' && !res.headersSent && SAFE_TO_RETRY.has(req.method ?? '') && hasNoBody(req)) {
        return this.forward(exchange, false)
      }
      if (!res.headersSent) this.options.log(`gateway: instance ${lease.uuid}: ${error.message}`)
      answerHttp(res, 502, 'Bad gateway.')
    })
    if (hasNoBody(req)) upstream.end()
    else req.pipe(upstream)
  }

  private async tunnel(req: http.IncomingMessage, socket: net.Socket, head: Buffer, route: GatewayRoute, port: ServicePort): Promise<void> {
    const lease = await this.lease(route, port)
    if (typeof lease === 'string') return answerRaw(socket, 503, 'Service Unavailable', lease)
    if (socket.destroyed) return lease.release()
    const backend = net.connect({host: lease.backend.host, port: lease.backend.port, allowHalfOpen: true})
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
      // The request goes as it came (raw header case and order), plus X-Forwarded-*; then the
      // two sockets carry the 101 and everything after it untouched.
      backend.write(upgradeHead(req, this.proto))
      if (head.length > 0) backend.write(head)
      joinSockets(socket, backend, lease)
    })
  }
}

function hasNoBody(req: http.IncomingMessage): boolean {
  return req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined
}

/** The request's headers for the instance (edited in place: node parsed them for this request only). */
function forwardedHeaders(req: http.IncomingMessage, proto: string): http.IncomingHttpHeaders {
  const headers = req.headers
  const listed = headers.connection
  if (listed) for (const name of listed.split(',')) delete headers[name.trim().toLowerCase()]
  for (const name of HOP_BY_HOP_REQUEST) delete headers[name]
  const client = req.socket.remoteAddress ?? ''
  const prior = headers['x-forwarded-for']
  headers['x-forwarded-for'] = prior ? `${prior}, ${client}` : client
  headers['x-forwarded-proto'] = proto
  if (headers.host !== undefined) headers['x-forwarded-host'] = headers.host
  return headers
}

function upgradeHead(req: http.IncomingMessage, proto: string): string {
  const lines = [`${req.method} ${req.url} HTTP/1.1`]
  const raw = req.rawHeaders
  let prior = ''
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase()
    if (name === 'x-forwarded-for') prior = prior ? `${prior}, ${raw[i + 1]}` : raw[i + 1]!
    else if (name !== 'x-forwarded-proto' && name !== 'x-forwarded-host') lines.push(`${raw[i]}: ${raw[i + 1]}`)
  }
  const client = req.socket.remoteAddress ?? ''
  lines.push(`X-Forwarded-For: ${prior ? `${prior}, ${client}` : client}`, `X-Forwarded-Proto: ${proto}`)
  if (req.headers.host !== undefined) lines.push(`X-Forwarded-Host: ${req.headers.host}`)
  return `${lines.join('\r\n')}\r\n\r\n`
}
