// The public gateway: one listener per published port on the loopback host. 443 is HTTPS, 80 plain
// HTTP, every other published port TLS-wrapped TCP. Certificates are chosen by SNI (sni-certificates.ts);
// every listener has the deadlines and connection cap of limits.ts.
import http from 'node:http'
import https from 'node:https'
import type net from 'node:net'
import tls from 'node:tls'
import type {CertificateAuthority} from '../tls/index.js'
import type {ConnectionTracker, Logger, RouteTable} from '../types.js'
import {BackendPools} from './backend-pools.js'
import {Balancer} from './balancer.js'
import {HttpFront} from './http-front.js'
import {DEFAULT_LIMITS, type GatewayLimits, httpServerOptions, tlsServerOptions} from './limits.js'
import {SniCertificates, type UserCertificateLookup} from './sni-certificates.js'
import {TcpFront} from './tcp-front.js'

export interface GatewayOptions {
  /** Loopback address to listen on, e.g. '127.0.0.1'. */
  host: string
  /** Metro domain, e.g. 'local.localhost': services are <name>.local.localhost. */
  domain: string
  ca: CertificateAuthority
  /** Where public 443 and 80 are served (0 = a free port). */
  httpsPort: number
  httpPort: number
  routes: RouteTable
  tracker: ConnectionTracker
  log: Logger
  /** Deadlines and the connection cap; unset ones are DEFAULT_LIMITS'. */
  limits?: Partial<GatewayLimits>
  /** A user's own certificate for a name, presented instead of the platform CA's leaf. */
  userCertificate?: UserCertificateLookup
}

/** The cap's log line repeats at most this often per listener while connections are being refused. */
const DROP_LOG_INTERVAL_MS = 60_000

export class Gateway {
  private readonly balancer: Balancer
  private readonly pools: BackendPools
  private readonly limits: GatewayLimits
  private readonly certificates: SniCertificates
  /** Certificate options of every listener, set by start(). */
  private tls: tls.TlsOptions | undefined
  private readonly servers = new Map<number, net.Server>()
  private readonly localPorts = new Map<number, number>()
  private readonly pending = new Map<number, Promise<number>>()
  /** Accepted connections, TLS and upgraded sockets: http.Server tracks only its HTTP connections for us. */
  private readonly sockets = new Set<net.Socket>()
  private closed = false

  constructor(private readonly options: GatewayOptions) {
    this.balancer = new Balancer(options.tracker)
    this.pools = new BackendPools(options.tracker)
    this.limits = {...DEFAULT_LIMITS, ...options.limits}
    const {ca, domain, routes, log, userCertificate} = options
    this.certificates = new SniCertificates({ca, domain, routes, log, userCertificate})
  }

  async start(): Promise<void> {
    this.tls = await this.certificates.serverOptions()
    const httpsServer = https.createServer({...this.tls, ...tlsServerOptions(this.limits), ...httpServerOptions(this.limits)})
    this.guard(443, httpsServer)
    this.serveHttp(httpsServer, 443, true)
    const httpServer = http.createServer(httpServerOptions(this.limits))
    this.guard(80, httpServer)
    this.serveHttp(httpServer, 80, false)
    try {
      await this.listen(443, httpsServer, this.options.httpsPort)
      await this.listen(80, httpServer, this.options.httpPort)
    } catch (error) {
      // e.g. 80's port taken: do not leave 443 listening behind a failed start.
      await this.close()
      throw error
    }
  }

  /** A listener for another published port: that port when ≥1024 and free, else a free port. */
  ensurePort(publicPort: number): Promise<number> {
    const known = this.localPorts.get(publicPort)
    if (known !== undefined) return Promise.resolve(known)
    // 443 and 80 are HTTP listeners that start() opens; never a raw TLS one.
    if (publicPort === 443 || publicPort === 80) return Promise.reject(new Error('the gateway is not started'))
    let opening = this.pending.get(publicPort)
    if (opening === undefined) {
      opening = this.openTcpPort(publicPort).finally(() => this.pending.delete(publicPort))
      this.pending.set(publicPort, opening)
    }
    return opening
  }

  /** Published port → local port, e.g. {'443': 7443, '80': 7080, '6379': 6379}. */
  ports(): Record<string, number> {
    return Object.fromEntries([...this.localPorts].map(([published, local]) => [String(published), local]))
  }

  /** In-flight connections/requests the gateway holds on an instance. */
  load(instanceUuid: string): number {
    return this.balancer.load(instanceUuid)
  }

  /** HTTP requests in flight on an instance (part of `load`; the rest are connections). */
  requests(instanceUuid: string): number {
    return this.balancer.requests(instanceUuid)
  }

  async close(): Promise<void> {
    this.closed = true
    await Promise.allSettled(this.pending.values())
    const closing = [...this.servers.values()].map(
      (server) => new Promise<void>((resolve) => server.close(() => resolve())),
    )
    // http.Server and https.Server (a tls.Server) both track their HTTP connections, idle keep-alive ones too.
    for (const server of this.servers.values()) if (server instanceof http.Server || server instanceof https.Server) server.closeAllConnections()
    for (const socket of this.sockets) socket.destroy()
    this.pools.destroy()
    await Promise.all(closing)
    this.servers.clear()
  }

  private serveHttp(server: http.Server, publicPort: number, secure: boolean): void {
    const front = new HttpFront({
      publicPort,
      secure,
      routes: this.options.routes,
      balancer: this.balancer,
      pools: this.pools,
      httpsPort: () => this.localPorts.get(443) ?? 443,
      log: this.options.log,
      adopt: (socket) => this.track(socket),
    })
    server.on('request', front.onRequest)
    server.on('upgrade', front.onUpgrade)
  }

  private async openTcpPort(publicPort: number): Promise<number> {
    if (this.closed) throw new Error('the gateway is closed')
    if (this.tls === undefined) throw new Error('the gateway is not started')
    const server = tls.createServer({...this.tls, ...tlsServerOptions(this.limits), allowHalfOpen: true})
    this.guard(publicPort, server)
    // A failed or timed-out handshake: https.Server closes such a connection itself, tls.Server leaves it open.
    server.on('tlsClientError', (_error: Error, socket: tls.TLSSocket) => socket.destroy())
    const front = new TcpFront({publicPort, routes: this.options.routes, balancer: this.balancer, log: this.options.log})
    server.on('secureConnection', (socket: tls.TLSSocket) => {
      this.track(socket)
      front.onConnection(socket)
    })
    if (publicPort >= 1024) {
      try {
        return await this.listen(publicPort, server, publicPort)
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code
        if (code !== 'EADDRINUSE' && code !== 'EACCES') throw error
      }
    }
    return this.listen(publicPort, server, 0)
  }

  private track(socket: net.Socket): void {
    if (this.sockets.has(socket)) return
    this.sockets.add(socket)
    socket.once('close', () => this.sockets.delete(socket))
  }

  private listen(publicPort: number, server: net.Server, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const failed = (error: Error) => reject(error)
      server.once('error', failed)
      server.listen(port, this.options.host, () => {
        server.off('error', failed)
        server.on('error', (error) => this.options.log(`gateway: port ${publicPort}: ${error.message}`))
        const local = (server.address() as net.AddressInfo).port
        this.servers.set(publicPort, server)
        this.localPorts.set(publicPort, local)
        resolve(local)
      })
    })
  }

  /**
   * Every accepted connection is the gateway's to close (one still in its TLS handshake too). Past the
   * cap node closes a new connection right after accepting it; the log says so, now and then.
   */
  private guard(publicPort: number, server: net.Server): void {
    server.on('connection', (socket: net.Socket) => this.track(socket))
    server.maxConnections = this.limits.maxConnections
    let logged = -Infinity
    server.on('drop', () => {
      const now = Date.now()
      if (now - logged < DROP_LOG_INTERVAL_MS) return
      logged = now
      this.options.log(`gateway: port ${publicPort}: ${this.limits.maxConnections} connections open, refusing new ones`)
    })
  }
}
