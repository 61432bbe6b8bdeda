// The public gateway: one listener per published port on the loopback host. 443 is HTTPS, 80 plain
// HTTP, every other published port TLS-wrapped TCP. Certificates come from the platform CA by SNI.
import http from 'node:http'
import https from 'node:https'
import type net from 'node:net'
import tls from 'node:tls'
import type {CertificateAuthority} from '../tls/index.js'
import type {ConnectionTracker, Logger, RouteTable} from '../types.js'
import {BackendAgents} from './backend-agents.js'
import {BackendPool} from './backend-pool.js'
import {Balancer} from './balancer.js'
import {fqdnOf} from './host-name.js'
import {HttpFront} from './http-front.js'
import {LeanProxy} from './lean-proxy.js'
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
}

/** How long an idle client keep-alive connection stays open. */
const CLIENT_KEEP_ALIVE_MS = 30_000

export class Gateway {
  private readonly balancer: Balancer
  private readonly agents = new BackendAgents()
  private readonly pool = new BackendPool()
  private lean: LeanProxy | undefined
  private readonly servers = new Map<number, net.Server>()
  private readonly localPorts = new Map<number, number>()
  private readonly pending = new Map<number, Promise<number>>()
  /** Raw TLS connections and upgraded sockets: http.Server does not track those for us. */
  private readonly sockets = new Set<net.Socket>()
  private closed = false

  constructor(private readonly options: GatewayOptions) {
    this.balancer = new Balancer(options.tracker)
  }

  async start(): Promise<void> {
    const httpsServer = https.createServer({...this.tlsOptions(), keepAliveTimeout: CLIENT_KEEP_ALIVE_MS})
    this.serveHttp(httpsServer, 443, true)
    this.serveLean(httpsServer)
    const httpServer = http.createServer({keepAliveTimeout: CLIENT_KEEP_ALIVE_MS})
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

  async close(): Promise<void> {
    this.closed = true
    await Promise.allSettled(this.pending.values())
    const closing = [...this.servers.values()].map(
      (server) => new Promise<void>((resolve) => server.close(() => resolve())),
    )
    // http.Server and https.Server (a tls.Server) both track their HTTP connections, idle keep-alive ones too.
    for (const server of this.servers.values()) if (server instanceof http.Server || server instanceof https.Server) server.closeAllConnections()
    for (const socket of this.sockets) socket.destroy()
    this.lean?.close()
    this.agents.destroy()
    this.pool.destroy()
    await Promise.all(closing)
    this.servers.clear()
  }

  private tlsOptions(): tls.TlsOptions {
    const {ca, domain} = this.options
    // Clients without SNI (connecting by IP) get the metro wildcard.
    const fallback = ca.issue([`*.${domain}`, domain])
    return {
      cert: fallback.cert,
      key: fallback.key,
      SNICallback: (servername, done) => {
        try {
          done(null, this.contextFor(servername))
        } catch (error) {
          done(error as Error)
        }
      },
    }
  }

  private contextFor(servername: string): tls.SecureContext {
    const {ca, domain, routes} = this.options
    const name = fqdnOf(servername)
    const dot = name.indexOf('.')
    // `<label>.<domain>` shares the metro wildcard. Any other name (a custom FQDN, a deeper
    // subdomain) gets a leaf of its own only when it routes somewhere, so random SNI names cannot
    // make the gateway mint (and cache) certificates without bound.
    const wildcard = name === domain || (dot > 0 && name.slice(dot + 1) === domain)
    if (wildcard || routes.route(name) !== undefined) return ca.secureContext(name, domain)
    return ca.secureContext(domain, domain)
  }

  private serveHttp(server: http.Server, publicPort: number, secure: boolean): void {
    const front = new HttpFront({
      publicPort,
      secure,
      routes: this.options.routes,
      balancer: this.balancer,
      agents: this.agents,
      httpsPort: () => this.localPorts.get(443) ?? 443,
      log: this.options.log,
      adopt: (socket) => this.track(socket),
    })
    server.on('request', front.onRequest)
    server.on('upgrade', front.onUpgrade)
  }

  /**
   * HTTPS connections start on the lean proxy path; node's HTTP server (the https.Server's own
   * connection listener) gets those the lean path hands over.
   */
  private serveLean(server: https.Server): void {
    const [nodeHttp] = server.listeners('secureConnection') as Array<(socket: tls.TLSSocket) => void>
    if (nodeHttp === undefined) return
    server.removeListener('secureConnection', nodeHttp)
    const lean = new LeanProxy({
      publicPort: 443,
      routes: this.options.routes,
      balancer: this.balancer,
      pool: this.pool,
      log: this.options.log,
      keepAliveMs: CLIENT_KEEP_ALIVE_MS,
      fallback: (socket) => nodeHttp.call(server, socket),
    })
    this.lean = lean
    server.on('secureConnection', lean.onConnection)
  }

  private async openTcpPort(publicPort: number): Promise<number> {
    if (this.closed) throw new Error('the gateway is closed')
    const server = tls.createServer({...this.tlsOptions(), allowHalfOpen: true})
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
}
