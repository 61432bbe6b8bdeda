// The relay: an HTTP server whose only job is to upgrade authenticated requests to tunnel sessions and
// dial allow-listed targets for each stream, within fixed limits (docs/tunnel.md has the arithmetic):
// one session at a time (a newer one replaces it), `maxStreams` open streams, every stream's receive
// window reserved from one buffer budget, and failed handshakes limited per source. It watches the
// client's heartbeat and reports when it has been missing for too long, so the instance can exit and
// be deleted (delete-on-stop). A v3 session whose WebSocket drops is held (detached, target sockets
// paused) for the heartbeat timeout, so that the client can resume it on a new WebSocket.
import {EventEmitter} from 'node:events'
import http from 'node:http'
import net from 'node:net'
import type {Duplex} from 'node:stream'

import WebSocket, {WebSocketServer} from 'ws'

import {
  CloseCode,
  MAX_FRAME_BYTES,
  MAX_STREAM_WINDOW,
  OPEN_CREDIT,
  RESUME_HEADER,
  ResetCode,
  SUBPROTOCOL,
  SUBPROTOCOL_V1,
  SUBPROTOCOL_V3,
  newSessionId,
} from '../protocol.js'
import {MuxSession} from '../session.js'
import {bearerOf, tokenMatches} from './auth.js'
import {BufferBudget} from './buffer-budget.js'
import type {RelayConfig} from './config.js'
import {HandshakeLimiter} from './handshake-limiter.js'
import {TrustedProxies, handshakeSource, sourceKey} from './handshake-source.js'
import {TargetLookupFailed, TargetPolicy} from './targets.js'

/** Scaled-to-zero targets wake on connect; give them time before calling the target unreachable. */
const TARGET_CONNECT_TIMEOUT_MS = 30_000
/** Bytes queued toward the client above which target sockets stop being read (the client keeps 4 MiB). */
const RELAY_HIGH_WATER = 1024 * 1024

/** Why an OPEN was refused: each kind is logged once per run of refusals. */
type Refusal = 'streams' | 'window' | 'buffer' | 'target'

export interface RelayStats {
  sessions: number
  streams: number
  /** Bytes held for target sockets that have not taken them. */
  bufferedBytes: number
  /** Bytes clients sent that were not credited back yet (buffered, or flushed and about to be credited). */
  outstandingBytes: number
  /** Bytes reserved by the streams' receive windows: the most they may hold (≤ the buffer budget). */
  reservedBytes: number
  /** v3: bytes sent to the client and kept until it acknowledges them (≤ the replay budget). */
  unacknowledgedBytes: number
  /** v3: bytes reserved by the streams' send windows (≤ the replay budget). */
  replayReservedBytes: number
}

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
  private readonly trustedProxies: TrustedProxies
  private readonly budget: BufferBudget
  /** v3: every stream's send window (what it keeps until the client acknowledges it) is reserved here. */
  private readonly replayBudget: BufferBudget
  /** Refusal kinds already logged since the last admitted stream. */
  private readonly refusing = new Set<Refusal>()
  /** Sessions and their watchdogs: one attached at a time, or one detached waiting for its client. */
  private readonly sessions = new Map<MuxSession, NodeJS.Timeout>()
  private lastHeartbeat = Date.now()
  private watchdog?: NodeJS.Timeout

  constructor(
    private readonly config: RelayConfig,
    private readonly log: RelayLog = (line) => process.stdout.write(`${line}\n`),
  ) {
    super()
    this.policy = new TargetPolicy(config.allow, config.hostsFile)
    this.trustedProxies = new TrustedProxies(config.trustedProxies)
    this.budget = new BufferBudget(config.bufferBytes)
    this.replayBudget = new BufferBudget(config.replayBytes)
    // A connection that never completes its handshake is dropped within seconds (failure mode 17).
    this.server = http.createServer({headersTimeout: 5_000, requestTimeout: 10_000, connectionsCheckingInterval: 1_000}, (req, res) => this.onRequest(req, res))
    this.server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head))
    this.wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      maxPayload: MAX_FRAME_BYTES,
      handleProtocols: (protocols) => [SUBPROTOCOL_V3, SUBPROTOCOL, SUBPROTOCOL_V1].find((p) => protocols.has(p)) ?? false,
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

  stats(): RelayStats {
    const sessions = [...this.sessions.keys()]
    return {
      sessions: sessions.length,
      streams: sessions.reduce((sum, s) => sum + s.size, 0),
      bufferedBytes: sessions.reduce((sum, s) => sum + s.bufferedBytes, 0),
      outstandingBytes: sessions.reduce((sum, s) => sum + s.outstandingBytes, 0),
      reservedBytes: this.budget.reserved,
      unacknowledgedBytes: sessions.reduce((sum, s) => sum + s.unacknowledgedBytes, 0),
      replayReservedBytes: this.replayBudget.reserved,
    }
  }

  async close(): Promise<void> {
    clearInterval(this.watchdog)
    for (const session of [...this.sessions.keys()]) this.end(session, CloseCode.GoingAway, 'relay stopping')
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
    // The token is checked before the upgrade completes: nothing reaches a target without it. The right
    // token always upgrades, whoever else failed from the same address: 256 random bits cannot be
    // guessed at any rate, so the limit below only bounds what wrong tokens cost (answers, log lines).
    if (tokenMatches(bearerOf(req), this.config.tokenHash)) {
      this.wss.handleUpgrade(req, socket, head, (ws) => this.onSession(ws, req))
      return
    }
    const source = sourceKey(handshakeSource(req, this.trustedProxies))
    if (this.limiter.blocked(source)) {
      refuse(socket, 429, 'Too Many Requests', {'Retry-After': String(this.limiter.retryAfterS(source))})
      return
    }
    const nowBlocked = this.limiter.fail(source)
    const {limit, windowMs} = this.limiter.limits
    this.log(`refused tunnel handshake from ${source}: missing or wrong token${nowBlocked ? `; ${limit} in ${windowMs / 1000} s, so it gets 429 (not logged) until they age out` : ''}`)
    refuse(socket, 401, 'Unauthorized', {'WWW-Authenticate': 'Bearer realm="ukc-tunnel"'})
  }

  private onSession(ws: WebSocket, req: http.IncomingMessage): void {
    const raw = (ws as unknown as {_socket?: net.Socket})._socket
    raw?.setNoDelay(true)
    const from = handshakeSource(req, this.trustedProxies)
    const wanted = ws.protocol === SUBPROTOCOL_V3 ? req.headers[RESUME_HEADER] : undefined
    const held = typeof wanted === 'string' ? [...this.sessions.keys()].find((s) => s.sessionId === wanted && s.phase !== 'closed') : undefined
    if (held) {
      this.log(`tunnel session resumed from ${from}: ${held.size} streams held`)
      held.reattach(ws)
      this.watch(held, ws)
      return
    }
    // One session at a time: a client only opens a new one once it has given up the old one, which
    // may not have noticed yet. Its streams were already reset on the client's side.
    for (const old of [...this.sessions.keys()]) {
      this.log('tunnel session replaced by a newer one')
      this.end(old, CloseCode.Replaced, 'replaced by a newer session')
    }
    const symmetric = ws.protocol === SUBPROTOCOL_V1
    const session: MuxSession = new MuxSession(
      ws,
      {
        onActivity: () => this.seen(session),
        onOpen: (frame) => this.onOpen(session, symmetric, frame.stream, frame.window, frame.target),
        onStreamClosed: (stream, reason) => {
          if (reason) this.log(`stream ${stream.id} closed: ${reason}`)
        },
        onDetached: () => {
          this.detachedAt.set(session, Date.now())
          const graceS = Math.round(this.config.heartbeatTimeoutMs / 1000)
          this.log(`tunnel connection dropped: holding ${session.size} streams for up to ${graceS} s for the client to resume`)
        },
        onResumed: (kept, lost) => {
          this.detachedAt.delete(session)
          this.log(`tunnel session resumed: ${kept} streams carry on${lost > 0 ? `, ${lost} reset (the client had ended them)` : ''}`)
        },
      },
      {highWater: RELAY_HIGH_WATER, ...(ws.protocol === SUBPROTOCOL_V3 ? {relaySessionId: newSessionId()} : {})},
    )
    this.log(`tunnel session opened from ${from} (${ws.protocol})`)
    this.watch(session, ws)
  }

  /** When each session's client was last heard from, and since when a detached one waits. */
  private readonly lastSeen = new Map<MuxSession, number>()
  private readonly detachedAt = new Map<MuxSession, number>()

  private seen(session: MuxSession): void {
    const now = Date.now()
    this.lastSeen.set(session, now)
    this.lastHeartbeat = now
  }

  /**
   * Follows `session` on its current WebSocket `ws`: liveness, the end of the WebSocket, and one
   * watchdog per session that drops a silent WebSocket and ends a session detached for longer than
   * the heartbeat timeout (the client then is gone, or cannot come back).
   */
  private watch(session: MuxSession, ws: WebSocket): void {
    this.seen(session)
    ws.on('ping', () => this.seen(session))
    ws.on('pong', () => this.seen(session))
    ws.on('error', (error) => this.log(`tunnel session error: ${error.message}`))
    ws.on('close', () => {
      if (session.phase === 'closed' && this.sessions.has(session)) this.end(session)
    })
    if (this.sessions.has(session)) return
    const timeout = this.config.heartbeatTimeoutMs
    this.sessions.set(
      session,
      setInterval(() => {
        const now = Date.now()
        const detached = this.detachedAt.get(session)
        if (detached !== undefined) {
          if (now - detached > timeout) this.end(session, CloseCode.HeartbeatTimeout, `not resumed within ${Math.round(timeout / 1000)} s`)
        } else if (now - (this.lastSeen.get(session) ?? now) > timeout) {
          this.log('tunnel session heartbeat missing: closing its connection')
          // A v3 session is held for its client to resume it; older ones end here.
          if (session.resumable && session.sessionId) session.ws.terminate()
          else this.end(session, CloseCode.HeartbeatTimeout, 'heartbeat timeout')
        }
      }, Math.max(50, Math.min(1000, timeout / 4))),
    )
  }

  /** Ends `session` for good: its streams are reset, its WebSocket closed, its watchdog stopped. */
  private end(session: MuxSession, code?: number, reason?: string): void {
    if (!this.sessions.has(session)) return
    const streams = session.size
    if (code !== undefined) session.close(code, reason)
    session.ws.terminate()
    clearInterval(this.sessions.get(session))
    this.sessions.delete(session)
    this.lastSeen.delete(session)
    this.detachedAt.delete(session)
    this.log(`tunnel session closed${session.closeReason ? `: ${session.closeReason}` : ''} (${streams} streams reset)`)
  }

  private onOpen(session: MuxSession, symmetric: boolean, id: number, window: number, target: string): void {
    if (window < 1) {
      session.close(CloseCode.ProtocolError, `OPEN ${id} with a zero window`)
      return
    }
    if (session.size >= this.config.maxStreams) {
      this.refuseOpen(session, id, 'streams', ResetCode.LimitReached, `${this.config.maxStreams} connections are open on this tunnel, the relay's limit`)
      return
    }
    // v2: the client starts with OPEN_CREDIT and the relay grants more; v1: it may send its whole window.
    const receive = symmetric ? window : OPEN_CREDIT
    if (receive > MAX_STREAM_WINDOW) {
      this.refuseOpen(session, id, 'window', ResetCode.LimitReached, `a window of ${window} bytes is above the relay's ${MAX_STREAM_WINDOW}`)
      return
    }
    let address
    try {
      address = this.policy.check(target)
    } catch (error) {
      this.refuseOpen(session, id, 'target', ResetCode.NotAllowed, (error as Error).message)
      return
    }
    const reservation = this.budget.admit(receive)
    // v3: what the stream keeps for a resume is bounded by a send window from the replay budget.
    const sendReservation = session.resumable ? this.replayBudget.admit(OPEN_CREDIT) : undefined
    if (!reservation || (session.resumable && !sendReservation)) {
      reservation?.release()
      sendReservation?.release()
      this.refuseOpen(session, id, 'buffer', ResetCode.LimitReached, `the relay's ${this.budget.capacity} bytes of buffer are reserved by the open connections`)
      return
    }
    this.refusing.clear()
    // Dial synchronously so DATA racing the dial is buffered by the connecting socket (bounded by the window).
    const socket = net.connect({
      host: address.host,
      port: address.port,
      allowHalfOpen: true,
      lookup: this.policy.lookup,
      ...(this.config.localAddress ? {localAddress: this.config.localAddress} : {}),
    })
    const stream = session.attach(id, socket, {send: window, receive}, reservation, sendReservation && {sendReservation, sendWindow: OPEN_CREDIT})
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

  /** RST for the OPEN; one log line per kind until a stream is admitted again (a flood logs once). */
  private refuseOpen(session: MuxSession, id: number, kind: Refusal, code: ResetCode, message: string): void {
    session.refuse(id, code, message)
    if (this.refusing.has(kind)) return
    this.refusing.add(kind)
    this.log(`stream ${id} refused: ${message} (further refusals for this reason are not logged until a stream is admitted)`)
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
