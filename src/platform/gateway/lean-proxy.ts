// The fast path of the HTTPS front (443, http+tls): HTTP/1.1 requests are proxied by reading and
// writing heads directly on the TLS socket and pooled instance connections, skipping node's HTTP
// server and client (which cost most of the gateway's time per request). Per request it does what the
// node path does: route by SNI/Host, lease an instance from the balancer (tracker open/activity/close),
// X-Forwarded-*, hop-by-hop headers, bodies by length or chunked, 502/503, retry once on a dead
// reused instance connection. Anything unusual (upgrades, Expect, HTTP/1.0, chunked request bodies,
// unknown hosts, malformed heads) hands the connection, unread bytes included, to node's server at a
// request boundary; it keeps the connection from then on.
import http from 'node:http'
import type tls from 'node:tls'
import type {Logger, RouteTable} from '../types.js'
import type {BackendConnection, BackendPool, BackendUser} from './backend-pool.js'
import {type Balancer, GatewayRefusal, type InstanceLease} from './balancer.js'
import {fqdnOf, routeFor} from './host-name.js'
import {ChunkedScanner, type Framing, MAX_HEAD_BYTES, type RequestHead, parseRequestHead, parseResponseHead} from './http1-parse.js'
import {refusalText} from './refusal.js'

export interface LeanProxyOptions {
  publicPort: number
  routes: RouteTable
  balancer: Balancer
  pool: BackendPool
  log: Logger
  /** Idle client keep-alive, seconds announced and enforced. */
  keepAliveMs: number
  /** Node's HTTP server takes over a connection (unread bytes are back on the socket). */
  fallback: (socket: tls.TLSSocket) => void
}

const SAFE_TO_RETRY = new Set(['GET', 'HEAD', 'OPTIONS'])
const EMPTY = Buffer.alloc(0)
const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1')

export class LeanProxy {
  readonly connections = new Set<ClientConnection>()
  readonly keepAliveHeader: string

  /** One sweep for idle connections instead of a socket timer each (those are refreshed on every read and write). */
  private readonly sweep: NodeJS.Timeout

  constructor(readonly options: LeanProxyOptions) {
    this.keepAliveHeader = `Connection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(options.keepAliveMs / 1000)}\r\n`
    this.sweep = setInterval(() => {
      const now = Date.now()
      for (const connection of this.connections) connection.closeIfIdle(now)
    }, Math.min(1000, options.keepAliveMs))
    this.sweep.unref()
  }

  readonly onConnection = (socket: tls.TLSSocket): void => {
    this.connections.add(new ClientConnection(this, socket))
  }

  close(): void {
    clearInterval(this.sweep)
    for (const connection of this.connections) connection.destroy()
    this.connections.clear()
  }
}

let dateSecond = 0
let dateLine = ''
/** `Date: ...\r\n`, formatted once a second. */
function date(): string {
  const now = Date.now()
  const second = Math.floor(now / 1000)
  if (second !== dateSecond) {
    dateSecond = second
    dateLine = `Date: ${new Date(now).toUTCString()}\r\n`
  }
  return dateLine
}

/** `prefix` and `buf[start, end)` in one write. */
function write(socket: tls.TLSSocket, prefix: string, buf: Buffer, start: number, end: number): boolean {
  if (prefix.length === 0) return socket.write(start === 0 && end === buf.length ? buf : buf.subarray(start, end))
  if (end === start) return socket.write(prefix, 'latin1')
  const out = Buffer.allocUnsafe(prefix.length + end - start)
  out.write(prefix, 0, 'latin1')
  buf.copy(out, prefix.length, start, end)
  return socket.write(out)
}

/** One request on its way: the instance it went to and where its response stands. */
class Exchange implements BackendUser {
  lease: InstanceLease | undefined
  backend: BackendConnection | undefined
  /** Body bytes that arrived before the instance connection existed. */
  pending: Buffer[] = []
  /** Body bytes still to come from the client. */
  bodyLeft: number
  /** The body is dropped (the request was refused). */
  discard = false
  retried = false
  /** Any byte came back from the instance. */
  answered = false
  /** Response head sent to the client. */
  responded = false
  private responseBuf: Buffer = EMPTY
  private framing: Framing = 'none'
  private left = 0
  private chunked: ChunkedScanner | undefined
  private keepBackend = false
  finished = false

  constructor(
    private readonly client: ClientConnection,
    readonly request: RequestHead,
    readonly head: string,
  ) {
    this.bodyLeft = request.contentLength
  }

  /** Sends the request to the instance (again, on a fresh connection, for a retry). */
  send(fresh: boolean): void {
    const lease = this.lease!
    const backend = this.client.proxy.options.pool.connect(lease.backend, this, fresh)
    this.backend = backend
    this.backendReused = backend.reused
    const socket = backend.socket
    if (this.pending.length === 0) socket.write(this.head, 'latin1')
    else {
      socket.cork()
      socket.write(this.head, 'latin1')
      for (const part of this.pending) socket.write(part)
      this.pending = []
      socket.uncork()
    }
  }

  /** Request body bytes from the client. */
  body(chunk: Buffer): void {
    this.bodyLeft -= chunk.length
    if (this.discard) return
    if (this.backend === undefined) {
      this.pending.push(chunk)
      return
    }
    if (!this.backend.socket.write(chunk)) this.client.socket.pause()
  }

  onBackendDrain(): void {
    this.client.socket.resume()
  }

  onBackendData(chunk: Buffer): void {
    this.answered = true
    this.lease?.activity()
    if (this.responded) return this.responseBody(chunk, 0)
    let buf = this.responseBuf.length === 0 ? chunk : Buffer.concat([this.responseBuf, chunk])
    for (;;) {
      const parsed = parseResponseHead(buf, this.request.method)
      if (parsed === 'more') {
        this.responseBuf = buf
        return
      }
      if (parsed instanceof Error) return this.failed(parsed.message)
      if (parsed.status === 101) return this.failed('switched protocols without an upgrade')
      if (parsed.status < 200) {
        // Informational answers (103 Early Hints, ...) end at the gateway, as with node's client.
        buf = buf.subarray(parsed.headLength)
        continue
      }
      this.responseBuf = EMPTY
      this.responded = true
      this.framing = parsed.framing
      this.left = parsed.length
      this.keepBackend = parsed.keepAlive
      if (parsed.framing === 'chunked') this.chunked = new ChunkedScanner()
      const client = this.client
      const head = `${parsed.head}${parsed.hasDate ? '' : date()}${client.closeAfter ? 'Connection: close\r\n' : client.proxy.keepAliveHeader}\r\n`
      this.responseBody(buf, parsed.headLength, head)
      return
    }
  }

  /** Passes response body bytes on (after `head`, in the same write: one TLS record, one system call). */
  private responseBody(buf: Buffer, start: number, head = ''): void {
    const socket = this.client.socket
    let end = buf.length
    let done = false
    switch (this.framing) {
      case 'none':
        done = true
        end = start
        break
      case 'length': {
        const n = Math.min(this.left, end - start)
        this.left -= n
        end = start + n
        done = this.left === 0
        break
      }
      case 'chunked': {
        let found: number
        try {
          found = this.chunked!.scan(buf, start)
        } catch (error) {
          if (head) socket.write(head, 'latin1')
          return this.failed((error as Error).message)
        }
        if (found >= 0) {
          end = found
          done = true
        }
        break
      }
      case 'close':
        // Re-framed for the client as one chunk per read.
        if (end > start) {
          socket.cork()
          write(socket, `${head}${(end - start).toString(16)}\r\n`, buf, start, end)
          const more = socket.write('\r\n', 'latin1')
          socket.uncork()
          if (!more) this.backend?.socket.pause()
        } else if (head) socket.write(head, 'latin1')
        return
    }
    if ((end > start || head) && !write(socket, head, buf, start, end)) this.backend?.socket.pause()
    if (done) {
      // Bytes past the response's end: the instance is out of step, its connection cannot be reused.
      if (end < buf.length) this.keepBackend = false
      this.finish(this.keepBackend)
    }
  }

  onBackendGone(error: NodeJS.ErrnoException | undefined): void {
    this.backend = undefined
    if (this.finished) return
    const request = this.request
    const reused = this.backendReused
    if (!this.answered && reused && !this.retried && SAFE_TO_RETRY.has(request.method) && request.contentLength === 0) {
      // A kept-alive instance connection can be closed by the instance just as it is reused; a safe
      // request without a body is sent again, once, on a fresh connection.
      this.retried = true
      return this.send(true)
    }
    if (this.responded && this.framing === 'close' && error === undefined) {
      this.client.socket.write(LAST_CHUNK)
      return this.finish(false)
    }
    this.failed(error?.message ?? 'the instance closed the connection')
  }

  /** Set when the request went out on a pooled connection. */
  backendReused = false

  /** The instance failed this request: 502 when nothing was sent yet, else the client connection goes. */
  failed(message: string): void {
    if (this.finished) return
    this.backend?.destroy()
    this.backend = undefined
    if (this.responded) {
      this.finished = true
      this.lease?.release()
      this.client.destroy()
      return
    }
    this.client.proxy.options.log(`gateway: instance ${this.lease?.uuid ?? '?'}: ${message}`)
    this.refuse(502, 'Bad gateway.')
  }

  /** A complete answer from the gateway itself; the request body, if any, is dropped. */
  refuse(status: number, text: string): void {
    this.discard = true
    this.pending = []
    const body = `${text}\n`
    const client = this.client
    const head =
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `${date()}${client.closeAfter || this.bodyLeft > 0 ? 'Connection: close\r\n' : client.proxy.keepAliveHeader}\r\n`
    client.socket.write(this.request.method === 'HEAD' ? head : head + body)
    this.responded = true
    this.finish(false)
  }

  private finish(keepBackend: boolean): void {
    if (this.finished) return
    this.finished = true
    const backend = this.backend
    this.backend = undefined
    if (backend !== undefined) {
      if (keepBackend && this.bodyLeft === 0) backend.release()
      else backend.destroy()
    }
    this.lease?.release()
    this.client.exchangeDone()
  }

  /** The client went away mid-exchange: the instance connection cannot be reused. */
  abort(): void {
    if (this.finished) return
    this.finished = true
    this.backend?.destroy()
    this.backend = undefined
    this.lease?.release()
  }
}

/** One client TLS connection on the lean path. */
class ClientConnection {
  private buffered: Buffer = EMPTY
  private exchange: Exchange | undefined
  private gone = false
  private handedOver = false
  private ending = false
  /** The client asked for the connection to close after the current exchange. */
  closeAfter = false
  private lastActive = Date.now()
  private readonly remote: string
  private readonly servername: string

  constructor(
    readonly proxy: LeanProxy,
    readonly socket: tls.TLSSocket,
  ) {
    this.remote = socket.remoteAddress ?? ''
    const servername = socket.servername
    this.servername = typeof servername === 'string' ? servername : ''
    socket.setNoDelay(true)
    socket.on('data', this.onData)
    socket.on('drain', this.onDrain)
    socket.on('error', this.onError)
    socket.on('close', this.onClose)
  }

  private readonly onData = (chunk: Buffer): void => {
    // After the gateway ended the connection (Connection: close, a body cut short) nothing more is read.
    if (this.ending) return
    this.lastActive = Date.now()
    const exchange = this.exchange
    if (exchange !== undefined && exchange.bodyLeft > 0) {
      const n = Math.min(exchange.bodyLeft, chunk.length)
      exchange.body(n === chunk.length ? chunk : chunk.subarray(0, n))
      if (n === chunk.length) return
      chunk = chunk.subarray(n)
    }
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk])
    if (this.exchange === undefined) this.next()
    // Pipelined requests wait for the current response; a flood of them waits in the kernel.
    else if (this.buffered.length > MAX_HEAD_BYTES) this.socket.pause()
  }

  private readonly onDrain = (): void => {
    const backend = this.exchange?.backend
    if (backend !== undefined && backend.socket.isPaused()) backend.socket.resume()
  }

  /** Idle keep-alive connections close after keepAliveMs without a request. */
  closeIfIdle(now: number): void {
    if (this.exchange === undefined && now - this.lastActive >= this.proxy.options.keepAliveMs) this.destroy()
  }

  private readonly onError = (): void => {
    this.destroy()
  }

  private readonly onClose = (): void => {
    this.gone = true
    this.exchange?.abort()
    this.exchange = undefined
    this.proxy.connections.delete(this)
  }

  destroy(): void {
    this.socket.destroy()
  }

  /** The current exchange ended: close when asked to, else go on with the next request. */
  exchangeDone(): void {
    const exchange = this.exchange
    this.exchange = undefined
    this.lastActive = Date.now()
    if (this.gone) return
    if (this.closeAfter || (exchange !== undefined && exchange.bodyLeft > 0)) {
      this.ending = true
      this.socket.end()
      return
    }
    if (this.socket.isPaused()) this.socket.resume()
    if (this.buffered.length > 0) this.next()
  }

  /** Parses the next request from what the client sent, and starts it or hands the connection over. */
  private next(): void {
    const parsed = parseRequestHead(this.buffered)
    if (parsed === 'more') return
    if (parsed === 'fallback') return this.handOver()
    const options = this.proxy.options
    const host = fqdnOf(this.servername || parsed.host)
    const found = routeFor(options.routes, host, options.publicPort, options.log)
    // Node's path answers unknown hosts (and knows the redirect and refusal words).
    if (found === undefined) return this.handOver()
    if (parsed.close) this.closeAfter = true
    const forwardedFor = parsed.forwardedFor ? `${parsed.forwardedFor}, ${this.remote}` : this.remote
    const head =
      `${parsed.method} ${parsed.target} HTTP/1.1\r\n${parsed.lines}X-Forwarded-For: ${forwardedFor}\r\n` +
      `X-Forwarded-Proto: https\r\nX-Forwarded-Host: ${parsed.host}\r\nConnection: keep-alive\r\n\r\n`
    const exchange = new Exchange(this, parsed, head)
    this.exchange = exchange
    const rest = this.buffered.subarray(parsed.headLength)
    this.buffered = EMPTY
    if (rest.length > 0) {
      const n = Math.min(exchange.bodyLeft, rest.length)
      if (n > 0) exchange.body(rest.subarray(0, n))
      this.buffered = rest.subarray(n)
    }
    const {route, port} = found
    options.balancer.acquire(route, port.destination_port ?? port.port).then(
      (lease) => {
        if (exchange.finished) return lease.release()
        exchange.lease = lease
        lease.activity()
        exchange.send(false)
      },
      (error: unknown) => {
        if (exchange.finished) return
        if (!(error instanceof GatewayRefusal)) options.log(`gateway: ${host}: ${(error as Error).message}`)
        exchange.refuse(503, refusalText(error))
      },
    )
  }

  /** Node's HTTP server takes the connection over from this request on. */
  private handOver(): void {
    if (this.handedOver) return
    this.handedOver = true
    const socket = this.socket
    socket.off('data', this.onData)
    socket.off('drain', this.onDrain)
    socket.off('error', this.onError)
    socket.off('close', this.onClose)
    socket.pause()
    this.proxy.connections.delete(this)
    if (this.buffered.length > 0) socket.unshift(this.buffered)
    this.buffered = EMPTY
    this.proxy.options.fallback(socket)
    socket.resume()
  }
}
