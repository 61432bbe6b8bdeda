// A gateway on loopback in front of one service (`web.local.localhost`, 443 http+tls) whose instance
// answers with scripted bytes, for the suites that check what clients and instances see on the wire.
import {once} from 'node:events'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import tls from 'node:tls'
import {Gateway, type GatewayLimits, type UserCertificateLookup} from '../../src/platform/gateway/index.js'
import {CertificateAuthority} from '../../src/platform/tls/index.js'
import type {BackendAddress, ConnectionTracker, GatewayRoute} from '../../src/platform/types.js'

export const DOMAIN = 'local.localhost'
export const FQDN = `web.${DOMAIN}`

/** Routes FQDN to one instance; counts opens and what is still open on the tracker. */
export class ScriptedPlatform implements ConnectionTracker {
  readonly routes = new Map<string, GatewayRoute>()
  backend: BackendAddress = {host: '127.0.0.1', port: 1}
  opens = 0
  /** Opened and not yet closed. */
  open_ = 0

  route(fqdn: string): GatewayRoute | undefined {
    return this.routes.get(fqdn)
  }

  async open(): Promise<BackendAddress> {
    this.opens++
    this.open_++
    return this.backend
  }

  activity(): void {}

  close(): void {
    this.open_--
  }

  publish(): void {
    this.routes.set(FQDN, {
      serviceUuid: 'svc',
      services: [{port: 443, destination_port: 8080, handlers: ['http', 'tls']}, {port: 7000, handlers: ['tls']}],
      softLimit: 1,
      hardLimit: 65_535,
      instances: [{uuid: 'i-1', state: 'running'}],
    })
  }
}

export interface RawRequest {
  head: string
  body: Buffer
  connection: number
  /** Requests before this one on the same instance connection. */
  index: number
}

export type Answer = (request: RawRequest) => string | Buffer | 'reset'

/**
 * An instance answering with scripted bytes: a string/Buffer, or 'reset' to drop the connection
 * unanswered. Request bodies are framed by Content-Length or chunked (no trailers).
 */
export class RawBackend {
  readonly requests: RawRequest[] = []
  /** Connections (numbered as in RawRequest) the gateway closed or reset. */
  readonly closed = new Set<number>()
  private connections = 0
  readonly server: net.Server
  readonly sockets = new Set<net.Socket>()

  constructor(answer: Answer) {
    this.server = net.createServer((socket) => {
      const connection = ++this.connections
      this.sockets.add(socket)
      socket.on('close', () => {
        this.sockets.delete(socket)
        this.closed.add(connection)
      })
      socket.on('error', () => socket.destroy())
      let index = 0
      let buf = Buffer.alloc(0)
      socket.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk])
        for (;;) {
          const end = buf.indexOf('\r\n\r\n')
          if (end < 0) return
          const head = buf.toString('latin1', 0, end)
          let bodyEnd = end + 4 + Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0)
          let body: Buffer = buf.subarray(end + 4, bodyEnd)
          if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
            const last = buf.indexOf('0\r\n\r\n', end + 4)
            if (last < 0) return
            bodyEnd = last + 5
            body = dechunk(buf.subarray(end + 4, bodyEnd))
          }
          if (buf.length < bodyEnd) return
          const request = {head, body, connection, index: index++}
          buf = buf.subarray(bodyEnd)
          this.requests.push(request)
          const reply = answer(request)
          if (reply === 'reset') return socket.resetAndDestroy()
          // An answer that says so ends the connection (and, without a length, its body).
          if (/\r\nConnection: close\r\n/i.test(reply.toString('latin1', 0, 200))) return socket.end(reply)
          socket.write(reply)
        }
      })
    })
  }

  async start(): Promise<BackendAddress> {
    this.server.listen(0, '127.0.0.1')
    await once(this.server, 'listening')
    return {host: '127.0.0.1', port: (this.server.address() as net.AddressInfo).port}
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}

function dechunk(body: Buffer): Buffer {
  const parts: Buffer[] = []
  let at = 0
  for (;;) {
    const line = body.indexOf('\r\n', at)
    const size = parseInt(body.toString('latin1', at, line), 16)
    if (!(size > 0)) return Buffer.concat(parts)
    parts.push(body.subarray(line + 2, line + 2 + size))
    at = line + 2 + size + 2
  }
}

/** A CA in a temporary directory, a gateway with `limits`, one scripted instance behind FQDN. */
export class GatewayFixture {
  readonly platform = new ScriptedPlatform()
  readonly logs: string[] = []
  answer: Answer = () => 'reset'
  ca!: CertificateAuthority
  gateway!: Gateway
  backend!: RawBackend
  private dir = ''

  async start(limits: Partial<GatewayLimits> = {}, userCertificate?: UserCertificateLookup): Promise<this> {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-gw-'))
    this.ca = await CertificateAuthority.loadOrCreate(this.dir)
    const {platform} = this
    const log = (line: string) => this.logs.push(line)
    this.gateway = new Gateway({host: '127.0.0.1', domain: DOMAIN, ca: this.ca, httpsPort: 0, httpPort: 0, routes: platform, tracker: platform, log, limits, userCertificate})
    await this.gateway.start()
    this.backend = new RawBackend((r) => this.answer(r))
    platform.backend = await this.backend.start()
    platform.publish()
    return this
  }

  port(published = 443): number {
    return this.gateway.ports()[String(published)]!
  }

  /** A verified TLS connection to the gateway for FQDN. */
  async connect(published = 443): Promise<tls.TLSSocket> {
    const socket = tls.connect({host: '127.0.0.1', port: this.port(published), servername: FQDN, ca: this.ca.certPem})
    await once(socket, 'secureConnect')
    return socket
  }

  /** Writes `text` on a new TLS connection and collects everything until the gateway closes it. */
  async exchange(text: string | Buffer): Promise<string> {
    const socket = await this.connect()
    const chunks: Buffer[] = []
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.write(text)
    await once(socket, 'close')
    return Buffer.concat(chunks).toString('latin1')
  }

  async close(): Promise<void> {
    await this.gateway.close()
    await this.backend.close()
    fs.rmSync(this.dir, {recursive: true, force: true})
  }
}

/** Status codes of the responses in a raw exchange, in order. */
export function statuses(text: string): string[] {
  return [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]!)
}

/** Polls `condition` (each event-loop turn) until it holds; fails after `timeoutMs`. */
export async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setImmediate(resolve))
  }
}
