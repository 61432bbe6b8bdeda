// The client's one WebSocket to the relay: connects with the tunnel token (through the environment's
// HTTP proxy when it names one), pings on a heartbeat and drops the connection when pongs stop, and
// reconnects with the tunnel's back-off while the listeners keep running. Every stream rides the
// current session. When the WebSocket drops, a v3 session is held (local sockets paused) for 3×
// heartbeat and resumed on the next WebSocket; otherwise (v1/v2, or the relay lost it) its streams
// are reset.
import {EventEmitter} from 'node:events'
import type {LookupFunction} from 'node:net'
import type net from 'node:net'

import WebSocket from 'ws'

import {type ProxyRoute, proxyRoute} from '../../api/index.js'
import {Backoff, type BackoffPolicy, retryUntil} from '../backoff.js'
import {CloseCode, MAX_FRAME_BYTES, RESUME_HEADER, SUBPROTOCOL_V3, SUBPROTOCOLS} from '../protocol.js'
import {MuxSession} from '../session.js'
import type {TunnelStream} from '../stream.js'

export interface RelayEndpoint {
  /** `wss://<fqdn>/` (or `ws://host:port/` for a relay without TLS in tests). */
  url: string
  /** Dial this address instead of resolving the URL's host (the local platform's gateway). */
  connectHost?: string
  /** Extra CA (PEM) to trust, e.g. the local platform's; the system roots are used otherwise. */
  ca?: string | string[]
  /** The tunnel token: sent as a bearer token, never logged. */
  token: string
}

export interface RelayConnectionOptions {
  /** May be set later with setEndpoint (listeners bind before the relay exists). */
  endpoint?: RelayEndpoint
  heartbeatMs: number
  backoff?: BackoffPolicy
  handshakeTimeoutMs?: number
  /**
   * Called after consecutive failures (with their count) before the next attempt; may return a new
   * endpoint, e.g. after recreating a relay that is gone.
   */
  recover?: (failures: number, lastError: Error) => Promise<RelayEndpoint | undefined>
  log: (line: string) => void
  onStreamClosed?: (stream: TunnelStream, reason?: string) => void
}

export interface RelayConnectionEvents {
  up: [session: MuxSession]
  /** `holding`: streams held for a resume (0: the open ones were reset). */
  down: [reason: string, retryInMs: number, holding: number]
  /** A held session resumed: `kept` connections carry on, `lost` were reset (all, when `fresh`: the relay had lost it). */
  resumed: [kept: number, lost: number, fresh: boolean]
  /** The relay refused us for good (401/403) and there is no way to recover: retrying would not help. */
  fatal: [error: RelayHandshakeError]
}

export class RelayHandshakeError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
    this.name = 'RelayHandshakeError'
  }

  get rejected(): boolean {
    return this.status === 401 || this.status === 403
  }
}

export class RelayConnection extends EventEmitter<RelayConnectionEvents> {
  private endpoint?: RelayEndpoint
  private current?: MuxSession
  private ws?: WebSocket
  private readonly backoff: Backoff
  private retryTimer?: NodeJS.Timeout
  private heartbeatTimer?: NodeJS.Timeout
  /** Ends a held (detached) session whose relay did not take it back in time. */
  private graceTimer?: NodeJS.Timeout
  private stopped = false
  private lastError?: Error
  /** Liveness of the current WebSocket (frames count as much as pongs). */
  private activity?: () => void
  /** When the next attempt is due while down (for "retrying in" messages). */
  private nextAttemptAt = 0

  constructor(private readonly options: RelayConnectionOptions) {
    super()
    this.endpoint = options.endpoint
    this.backoff = new Backoff(options.backoff)
  }

  /** Where the next attempt goes (e.g. once the relay exists, or after it was recreated). */
  setEndpoint(endpoint: RelayEndpoint): void {
    this.endpoint = endpoint
  }

  /** The live session, if connected. */
  get session(): MuxSession | undefined {
    return this.current?.open ? this.current : undefined
  }

  get retryInMs(): number {
    return Math.max(0, this.nextAttemptAt - Date.now())
  }

  get lastFailure(): string | undefined {
    return this.lastError?.message
  }

  /** Connects once; resolves on success, rejects with the failure (the caller decides to retry). */
  async connect(): Promise<MuxSession> {
    const ws = await this.dial()
    if (this.stopped) {
      ws.terminate()
      throw new Error('tunnel closed')
    }
    return this.adopt(ws)
  }

  /** Keeps trying (the relay may still be booting) until connected, `deadlineMs` passes, or `signal` aborts. */
  async connectWithRetry(options: {deadlineMs: number; signal?: AbortSignal}): Promise<MuxSession> {
    return retryUntil(() => this.connect(), {
      deadlineMs: options.deadlineMs,
      backoff: this.backoff,
      signal: options.signal,
      isFinal: (error) => this.stopped || (error instanceof RelayHandshakeError && error.rejected),
    })
  }

  /** Closes the session with 1000 and stops reconnecting. */
  close(): void {
    this.stopped = true
    clearTimeout(this.retryTimer)
    clearTimeout(this.graceTimer)
    clearInterval(this.heartbeatTimer)
    this.current?.close(CloseCode.Normal, 'tunnel closed')
    this.ws?.terminate()
  }

  private async dial(): Promise<WebSocket> {
    if (!this.endpoint) throw new Error('no relay endpoint yet')
    const {url, connectHost, ca, token} = this.endpoint
    const target = new URL(url)
    const lookup: LookupFunction | undefined = connectHost
      ? (_host, options, callback) => {
          const family = connectHost.includes(':') ? 6 : 4
          if (typeof options === 'object' && options.all) (callback as unknown as (e: null, a: Array<{address: string; family: number}>) => void)(null, [{address: connectHost, family}])
          else callback(null, connectHost, family)
        }
      : undefined
    // The local gateway is dialled directly; anything else may have to go through a proxy.
    const route: ProxyRoute | undefined = connectHost ? undefined : await proxyRoute(target)
    const resume = this.held()?.sessionId
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, SUBPROTOCOLS, {
        ...(route ? {agent: route.agent} : {}),
        headers: {Authorization: `Bearer ${token}`, ...(connectHost ? {Host: target.hostname} : {}), ...(resume ? {[RESUME_HEADER]: resume} : {})},
        perMessageDeflate: false,
        maxPayload: MAX_FRAME_BYTES,
        handshakeTimeout: this.options.handshakeTimeoutMs ?? 10_000,
        // Inside TLS the RFC 6455 mask protects no intermediary (none can read the frames), so an
        // all-zero mask lets both ends skip the XOR over every byte.
        ...(target.protocol === 'wss:' ? {generateMask: (mask: Buffer) => void mask.fill(0)} : {}),
        ...(ca ? {ca} : {}),
        ...(lookup ? {lookup} : {}),
      })
      let settled = false
      ws.on('unexpected-response', (req, res) => {
        const where = res.headers.location ? ` (location: ${res.headers.location})` : ''
        const status = res.statusCode ?? 0
        const reason = route?.refusal ?? (status === 401 || status === 403 ? 'the relay rejected the tunnel token' : `the relay answered HTTP ${status} ${res.statusMessage ?? ''}`.trim())
        settled = true
        req.destroy()
        ws.terminate()
        reject(route?.refusal ? new Error(reason) : new RelayHandshakeError(status, `${reason}${where}`))
      })
      ws.once('open', () => {
        // The relay's first frame (SESSION) may arrive with the upgrade's answer: hold it until adopt() listens.
        ws.pause()
        settled = true
        resolve(ws)
      })
      ws.once('error', (error) => {
        if (settled) return
        settled = true
        reject(route ? new Error(`${error.message} (through the proxy ${route.proxy.protocol}//${route.proxy.host})`) : error)
      })
    })
  }

  /** The session held for a resume, if any. */
  private held(): MuxSession | undefined {
    return this.current?.phase === 'detached' ? this.current : undefined
  }

  private adopt(ws: WebSocket): MuxSession {
    this.ws = ws
    this.backoff.reset()
    ;(ws as unknown as {_socket?: net.Socket})._socket?.setNoDelay(true)
    let lastSeen = Date.now()
    const seen = (): void => {
      lastSeen = Date.now()
    }
    let session = this.held()
    clearTimeout(this.graceTimer)
    if (session && ws.protocol === SUBPROTOCOL_V3) {
      session.reattach(ws)
    } else {
      // A relay that chose an older protocol cannot resume: what was held is lost.
      session?.close(CloseCode.Normal, 'the relay cannot resume this tunnel session')
      session = new MuxSession(ws, {
        onActivity: () => this.activity?.(),
        onStreamClosed: this.options.onStreamClosed,
        onResumed: (kept, lost, fresh) => this.emit('resumed', kept, lost, fresh),
      })
    }
    this.activity = seen
    ws.on('pong', seen)
    ws.on('error', (error) => {
      this.lastError = error
    })
    clearInterval(this.heartbeatTimer)
    this.heartbeatTimer = setInterval(() => {
      if (Date.now() - lastSeen > this.options.heartbeatMs * 3) {
        this.lastError = new Error('relay stopped answering heartbeats')
        ws.terminate()
        return
      }
      ws.ping()
    }, this.options.heartbeatMs)
    ws.once('close', (code, reason) => {
      if (ws !== this.ws) return
      clearInterval(this.heartbeatTimer)
      const held = session.phase === 'detached'
      if (this.current === session && !held) this.current = undefined
      if (this.stopped) return
      if (held) this.holdUntilResumed(session)
      const why = this.lastError?.message ?? (reason.length > 0 ? reason.toString() : `closed with code ${code}`)
      this.scheduleReconnect(`tunnel connection lost: ${why}`)
    })
    this.current = session
    ws.resume()
    this.emit('up', session)
    return session
  }

  /** The relay holds a detached session for its heartbeat timeout (3× ours): past that, so do we. */
  private holdUntilResumed(session: MuxSession): void {
    clearTimeout(this.graceTimer)
    const graceMs = this.options.heartbeatMs * 3
    this.graceTimer = setTimeout(() => {
      if (this.current !== session || session.phase === 'attached') return
      this.current = undefined
      session.close(CloseCode.Normal, `not resumed within ${Math.round(graceMs / 1000)} s`)
      this.options.log(`could not resume the tunnel session within ${formatSeconds(graceMs)}: open connections were reset`)
    }, graceMs)
  }

  private scheduleReconnect(reason: string): void {
    if (this.stopped) return
    const delay = this.backoff.next()
    this.nextAttemptAt = Date.now() + delay
    this.emit('down', reason, delay, this.held()?.size ?? 0)
    clearTimeout(this.retryTimer)
    this.retryTimer = setTimeout(() => void this.attempt(), delay)
  }

  private async attempt(): Promise<void> {
    if (this.stopped) return
    try {
      // The back-off counts the failures since the last session (the first delay is one of them).
      const failures = this.backoff.count - 1
      if (failures > 0 && this.options.recover && this.lastError) {
        const replacement = await this.options.recover(failures, this.lastError)
        if (replacement) this.endpoint = replacement
      }
      if (this.stopped) return
      const ws = await this.dial()
      if (this.stopped) {
        ws.terminate()
        return
      }
      this.lastError = undefined
      this.adopt(ws)
      this.options.log('tunnel connection restored')
    } catch (error) {
      this.lastError = error as Error
      if (error instanceof RelayHandshakeError && error.rejected && !this.options.recover) {
        this.stopped = true
        this.emit('fatal', error)
        return
      }
      this.scheduleReconnect(`relay unreachable: ${(error as Error).message}`)
    }
  }
}

function formatSeconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`
}
