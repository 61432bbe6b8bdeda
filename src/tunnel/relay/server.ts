// The relay: an HTTP server whose only job is to upgrade authenticated requests to tunnel sessions and
// dial allow-listed targets for each stream. It watches the client's heartbeat and reports when it has
// been missing for too long, so the instance can exit and be deleted (delete-on-stop).
import {EventEmitter} from 'node:events'
import http from 'node:http'
import net from 'node:net'
import type {Duplex} from 'node:stream'

import WebSocket, {WebSocketServer} from 'ws'

import {CloseCode, MAX_FRAME_BYTES, ResetCode, SUBPROTOCOL} from '../protocol.js'
import {MuxSession} from '../session.js'
import {HandshakeLimiter, bearerOf, tokenMatches} from './auth.js'
import type {RelayConfig} from './config.js'
import {TargetLookupFailed, TargetPolicy} from './targets.js'

/** Largest window a client may ask for: bounds what one stream can make the relay buffer. */
const MAX_WINDOW = 8 * 1024 * 1024
/** Scaled-to-zero targets wake on connect; give them time before calling the target unreachable. */
const TARGET_CONNECT_TIMEOUT_MS = 30_000

export type RelayLog = (line: string) => void

export interface RelayServerEvents {
  /** No heartbeat from any client for heartbeatTimeoutMs. */
  'heartbeat-lost': []
}

export class RelayServer extends EventEmitter<RelayServerEvents> {
  private readonly server: http.Server
  private readonly wss: WebSocketServer
  private readonly policy: TargetPolicy
  private readonly limiter = new HandshakeLimiter()
  private readonly sessions = new Set<MuxSession>()
  private lastHeartbeat = Date.now()
  private watchdog?: NodeJS.Timeout

  constructor(
    private readonly config: RelayConfig,
    private readonly log: RelayLog = (line) => process.stdout.write(`${line}\n`),
  ) {
    super()
    this.policy = new TargetPolicy(config.allow, config.hostsFile)
    // A connection that never completes its handshake is dropped within seconds (failure mode 17).
    this.server = http.createServer({headersTimeout: 5_000, requestTimeout: 10_000, connectionsCheckingInterval: 1_000}, (req, res) => this.onRequest(req, res))
    this.server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head))
    this.wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      maxPayload: MAX_FRAME_BYTES,
      handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    })
  }

  async listen(): Promise<{host: string; port: number}> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(this.config.port, this.config.host, () => {
        this.server.off('error', reject)
        resolve()
      })
    })
    this.lastHeartbeat = Date.now()
    const every = Math.max(50, Math.min(1000, this.config.heartbeatTimeoutMs / 4))
    this.watchdog = setInterval(() => this.checkHeartbeat(), every)
    const address = this.server.address() as net.AddressInfo
    this.log(`relay listening on ${address.address}:${address.port}; targets: ${this.config.allow.join(', ')}`)
    return {host: address.address, port: address.port}
  }

  get sessionCount(): number {
    return this.sessions.size
  }

  async close(): Promise<void> {
    clearInterval(this.watchdog)
    for (const session of this.sessions) session.close(CloseCode.GoingAway, 'relay stopping')
    for (const client of this.wss.clients) client.terminate()
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
    await new Promise<void>((resolve) => this.wss.close(() => resolve()))
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.url === '/healthz') {
      res.writeHead(200, {'content-type': 'text/plain'}).end('ok\n')
      return
    }
    res.writeHead(426, {'content-type': 'text/plain', upgrade: 'websocket'}).end('this is a ukc tunnel relay: connect with `ukc tunnel`\n')
  }

  private onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy())
    if (this.limiter.blocked()) {
      refuse(socket, 429, 'Too Many Requests', {'Retry-After': String(this.limiter.retryAfter())})
      return
    }
    // The token is checked before the upgrade completes: nothing reaches a target without it.
    if (!tokenMatches(bearerOf(req), this.config.tokenHash)) {
      this.limiter.fail()
      this.log(`refused tunnel handshake from ${req.socket.remoteAddress ?? '?'}: missing or wrong token`)
      refuse(socket, 401, 'Unauthorized', {'WWW-Authenticate': 'Bearer realm="ukc-tunnel"'})
      return
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onSession(ws, req))
  }

  private onSession(ws: WebSocket, req: http.IncomingMessage): void {
    const raw = (ws as unknown as {_socket?: net.Socket})._socket
    raw?.setNoDelay(true)
    let lastSeen = Date.now()
    const alive = (): void => {
      lastSeen = Date.now()
      this.lastHeartbeat = lastSeen
    }
    alive()
    const session = new MuxSession(ws, {
      onActivity: alive,
      onOpen: (frame) => this.onOpen(session, frame.stream, frame.window, frame.target),
      onStreamClosed: (stream, reason) => {
        if (reason) this.log(`stream ${stream.id} closed: ${reason}`)
      },
    })
    ws.on('ping', alive)
    ws.on('pong', alive)
    this.sessions.add(session)
    this.log(`tunnel session opened from ${req.socket.remoteAddress ?? '?'}`)
    const check = setInterval(() => {
      if (Date.now() - lastSeen > this.config.heartbeatTimeoutMs) {
        this.log('tunnel session heartbeat missing: closing it')
        session.close(CloseCode.HeartbeatTimeout, 'heartbeat timeout')
        ws.terminate()
      }
    }, Math.max(50, Math.min(1000, this.config.heartbeatTimeoutMs / 4)))
    ws.on('close', () => {
      clearInterval(check)
      this.sessions.delete(session)
      this.log(`tunnel session closed (${session.size} streams reset)`)
    })
    ws.on('error', (error) => this.log(`tunnel session error: ${error.message}`))
  }

  private onOpen(session: MuxSession, id: number, window: number, target: string): void {
    if (session.has(id) || window < 1 || window > MAX_WINDOW) {
      session.close(CloseCode.ProtocolError, 'bad OPEN frame')
      return
    }
    let address
    try {
      address = this.policy.check(target)
    } catch (error) {
      this.log(`stream ${id} refused: ${(error as Error).message}`)
      session.attach(id, new net.Socket(), window).abort(ResetCode.NotAllowed, (error as Error).message)
      return
    }
    // Dial synchronously so DATA racing the dial is buffered by the connecting socket (bounded by the window).
    const socket = net.connect({
      host: address.host,
      port: address.port,
      allowHalfOpen: true,
      lookup: this.policy.lookup,
      ...(this.config.localAddress ? {localAddress: this.config.localAddress} : {}),
    })
    const stream = session.attach(id, socket, window)
    socket.setTimeout(TARGET_CONNECT_TIMEOUT_MS, () => stream.abort(ResetCode.Refused, `${target}: connect timed out`))
    const onConnectError = (error: NodeJS.ErrnoException): void => {
      const lookupFailed = error instanceof TargetLookupFailed
      this.log(`stream ${id} to ${target}: ${lookupFailed ? error.message : error.code ?? error.message}`)
      stream.abort(lookupFailed ? ResetCode.LookupFailed : ResetCode.Refused, lookupFailed ? error.message : `${target}: ${error.code ?? error.message}`)
    }
    socket.once('error', onConnectError)
    socket.once('connect', () => {
      socket.setTimeout(0)
      socket.off('error', onConnectError)
    })
  }

  private checkHeartbeat(): void {
    if (this.sessions.size === 0 && Date.now() - this.lastHeartbeat > this.config.heartbeatTimeoutMs) {
      clearInterval(this.watchdog)
      this.log(`no client heartbeat for ${Math.round(this.config.heartbeatTimeoutMs / 1000)} s: stopping`)
      this.emit('heartbeat-lost')
    }
  }
}

function refuse(socket: Duplex, status: number, text: string, headers: Record<string, string> = {}): void {
  const lines = [`HTTP/1.1 ${status} ${text}`, 'Connection: close', 'Content-Length: 0', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)]
  socket.end(`${lines.join('\r\n')}\r\n\r\n`)
  setTimeout(() => socket.destroy(), 1000).unref()
}
