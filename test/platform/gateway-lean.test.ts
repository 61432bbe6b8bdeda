// The HTTPS front's lean proxy path: its HTTP/1.1 parsing, and what clients see through it with
// instances that answer in every framing (raw TCP backends script the exact bytes).
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {once} from 'node:events'
import fs from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import tls from 'node:tls'
import {after, before, beforeEach, describe, it} from 'node:test'
import {Gateway} from '../../src/platform/gateway/index.js'
import {ChunkedScanner, parseRequestHead, parseResponseHead} from '../../src/platform/gateway/http1-parse.js'
import {CertificateAuthority} from '../../src/platform/tls/index.js'
import type {BackendAddress, ConnectionTracker, GatewayRoute} from '../../src/platform/types.js'

const b = (text: string) => Buffer.from(text, 'latin1')

describe('HTTP/1.1 request heads', () => {
  it('keeps end-to-end headers as sent and drops hop-by-hop ones, including those Connection lists', () => {
    const text =
      'POST /a?b=1 HTTP/1.1\r\nHost: web.local.localhost\r\nX-Custom: One\r\nConnection: keep-alive, X-Secret\r\nX-Secret: s\r\nKeep-Alive: 5\r\n' +
      'TE: trailers\r\nContent-Length: 3\r\nX-Forwarded-For: 10.1.1.1\r\nX-Forwarded-For: 10.2.2.2\r\nX-Forwarded-Proto: http\r\n\r\nabc'
    const head = parseRequestHead(b(text))
    assert.ok(typeof head === 'object')
    assert.equal(head.method, 'POST')
    assert.equal(head.target, '/a?b=1')
    assert.equal(head.host, 'web.local.localhost')
    assert.equal(head.contentLength, 3)
    assert.equal(head.close, false)
    assert.equal(head.lines, 'Host: web.local.localhost\r\nX-Custom: One\r\nContent-Length: 3\r\n')
    assert.equal(head.forwardedFor, '10.1.1.1, 10.2.2.2')
    assert.equal(head.headLength, text.length - 3)
  })

  it('waits for the whole head and notices Connection: close', () => {
    assert.equal(parseRequestHead(b('GET / HTTP/1.1\r\nHost: a\r\n')), 'more')
    const head = parseRequestHead(b('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /next'))
    assert.ok(typeof head === 'object')
    assert.equal(head.close, true)
    assert.equal(head.headLength, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'.length)
  })

  it('leaves upgrades, Expect, chunked bodies, HTTP/1.0, CONNECT and malformed heads to node', () => {
    for (const text of [
      'GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
      'PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n',
      'GET / HTTP/1.0\r\nHost: a\r\n\r\n',
      'CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n',
      'GET / HTTP/1.1\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n',
      'GET /a b HTTP/1.1\r\nHost: a\r\n\r\n',
    ]) {
      assert.equal(parseRequestHead(b(text)), 'fallback', text)
    }
    assert.equal(parseRequestHead(Buffer.alloc(20_000, 'a')), 'fallback')
  })
})

describe('HTTP/1.1 response heads', () => {
  it('frames bodies by method, status, Transfer-Encoding and Content-Length', () => {
    const framing = (text: string, method = 'GET') => {
      const head = parseResponseHead(b(text), method)
      assert.ok(typeof head === 'object' && !(head instanceof Error))
      return head
    }
    assert.equal(framing('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n').framing, 'length')
    assert.equal(framing('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 5\r\n\r\n').framing, 'chunked')
    assert.equal(framing('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n').framing, 'close')
    assert.equal(framing('HTTP/1.1 200 OK\r\n\r\n').framing, 'close')
    assert.equal(framing('HTTP/1.1 204 No Content\r\n\r\n').framing, 'none')
    assert.equal(framing('HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n').framing, 'none')
    const head = framing('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\nX-A: 1\r\n\r\n', 'HEAD')
    assert.equal(head.framing, 'none')
    assert.equal(head.keepAlive, false)
    assert.equal(head.head, 'HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 1000\r\n')
    assert.equal(framing('HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n').keepAlive, false)
    assert.equal(framing('HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive\r\n\r\n').keepAlive, true)
  })

  it('rejects what is not an HTTP/1.x response', () => {
    assert.ok(parseResponseHead(b('SSH-2.0-OpenSSH\r\n\r\n'), 'GET') instanceof Error)
    assert.ok(parseResponseHead(b('HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n'), 'GET') instanceof Error)
    assert.equal(parseResponseHead(b('HTTP/1.1 200 OK\r\n'), 'GET'), 'more')
  })
})

describe('chunked bodies', () => {
  const body = b('5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: yes\r\n\r\n')

  it('finds the end wherever the reads split the body', () => {
    for (let cut = 0; cut <= body.length; cut++) {
      const scanner = new ChunkedScanner()
      const first = scanner.scan(body.subarray(0, cut), 0)
      if (cut === body.length) assert.equal(first, body.length)
      else {
        assert.equal(first, -1, `cut at ${cut}`)
        assert.equal(scanner.scan(body.subarray(cut), 0), body.length - cut, `cut at ${cut}`)
      }
    }
    const scanner = new ChunkedScanner()
    for (let i = 0; i < body.length - 1; i++) assert.equal(scanner.scan(body.subarray(i, i + 1), 0), -1)
    assert.equal(scanner.scan(body.subarray(body.length - 1), 0), 1)
  })

  it('reports where the body ends when more follows, and rejects broken framing', () => {
    assert.equal(new ChunkedScanner().scan(b('xx0\r\n\r\nHTTP/1.1'), 2), 7)
    assert.throws(() => new ChunkedScanner().scan(b('zz\r\n'), 0))
    assert.throws(() => new ChunkedScanner().scan(b('2\r\nabc\r\n'), 0))
  })
})

// ---- through the gateway ------------------------------------------------------------------------

const DOMAIN = 'local.localhost'
const FQDN = `web.${DOMAIN}`

class Platform implements ConnectionTracker {
  readonly routes = new Map<string, GatewayRoute>()
  backend: BackendAddress = {host: '127.0.0.1', port: 1}
  opens = 0
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
}

interface RawRequest {
  head: string
  body: Buffer
  connection: number
  /** Requests before this one on the same instance connection. */
  index: number
}

/** An instance answering with scripted bytes: a string/Buffer, or 'reset' to drop the connection unanswered. */
class RawBackend {
  readonly requests: RawRequest[] = []
  private connections = 0
  readonly server: net.Server
  readonly sockets = new Set<net.Socket>()

  constructor(answer: (request: RawRequest) => string | Buffer | 'reset') {
    this.server = net.createServer((socket) => {
      this.sockets.add(socket)
      socket.on('close', () => this.sockets.delete(socket))
      socket.on('error', () => socket.destroy())
      const connection = ++this.connections
      let index = 0
      let buf = Buffer.alloc(0)
      socket.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk])
        for (;;) {
          const end = buf.indexOf('\r\n\r\n')
          if (end < 0) return
          const head = buf.toString('latin1', 0, end)
          const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0)
          if (buf.length < end + 4 + length) return
          const request = {head, body: buf.subarray(end + 4, end + 4 + length), connection, index: index++}
          buf = buf.subarray(end + 4 + length)
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

let ca: CertificateAuthority
let caDir: string
let gateway: Gateway
const platform = new Platform()
let backend: RawBackend | undefined
let answer: (request: RawRequest) => string | Buffer | 'reset' = () => 'reset'
const logs: string[] = []

function route(): void {
  platform.routes.set(FQDN, {
    serviceUuid: 'svc',
    services: [{port: 443, destination_port: 8080, handlers: ['http', 'tls']}],
    softLimit: 1,
    hardLimit: 65_535,
    instances: [{uuid: 'i-1', state: 'running'}],
  })
}

/** Opens a TLS connection to the gateway, writes `text`, and collects everything until the gateway closes. */
async function raw(text: string | Buffer): Promise<string> {
  const socket = tls.connect({host: '127.0.0.1', port: gateway.ports()['443']!, servername: FQDN, ca: ca.certPem})
  await once(socket, 'secureConnect')
  socket.write(text)
  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => chunks.push(chunk))
  await once(socket, 'close')
  return Buffer.concat(chunks).toString('latin1')
}

function request(agent: https.Agent, options: {method?: string; path?: string; body?: Buffer} = {}): Promise<{status: number; headers: http.IncomingHttpHeaders; body: Buffer; reused: boolean}> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {host: '127.0.0.1', port: gateway.ports()['443'], servername: FQDN, ca: ca.certPem, headers: {host: FQDN}, agent, method: options.method ?? 'GET', path: options.path ?? '/'},
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () => resolve({status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), reused: req.reusedSocket}))
      },
    )
    req.on('error', reject)
    req.end(options.body)
  })
}

before(async () => {
  caDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-gw-lean-'))
  ca = await CertificateAuthority.loadOrCreate(caDir)
  gateway = new Gateway({host: '127.0.0.1', domain: DOMAIN, ca, httpsPort: 0, httpPort: 0, routes: platform, tracker: platform, log: (line) => logs.push(line)})
  await gateway.start()
  backend = new RawBackend((r) => answer(r))
  platform.backend = await backend.start()
  route()
})

after(async () => {
  await gateway.close()
  await backend?.close()
  fs.rmSync(caDir, {recursive: true, force: true})
})

beforeEach(() => {
  backend!.requests.length = 0
  platform.opens = 0
  logs.length = 0
})

describe('the lean HTTPS path', () => {
  it('passes a chunked response through and keeps both connections alive', async () => {
    answer = () => 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n'
    const agent = new https.Agent({keepAlive: true, maxSockets: 1})
    try {
      const first = await request(agent)
      const second = await request(agent)
      assert.equal(first.body.toString(), 'hello world')
      assert.equal(second.body.toString(), 'hello world')
      assert.equal(second.reused, true)
      assert.equal(first.headers.connection, 'keep-alive')
      const requests = backend!.requests.slice(-2)
      assert.equal(requests[1]!.connection, requests[0]!.connection, 'the instance connection is reused')
      assert.match(requests[0]!.head, /\r\nX-Forwarded-Proto: https\r\n/)
      assert.match(requests[0]!.head, /\r\nX-Forwarded-For: 127\.0\.0\.1\r\n/)
      assert.match(requests[0]!.head, new RegExp(`\\r\\nX-Forwarded-Host: ${FQDN}\\r\\n`))
      assert.equal(platform.open_, 0, 'every request was closed on the tracker')
    } finally {
      agent.destroy()
    }
  })

  it('re-frames a body that ends with the instance connection, keeping the client connection', async () => {
    answer = () => 'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end'
    const agent = new https.Agent({keepAlive: true, maxSockets: 1})
    try {
      const first = await request(agent)
      const second = await request(agent)
      assert.equal(first.body.toString(), 'until the end')
      assert.equal(first.headers['transfer-encoding'], 'chunked')
      assert.equal(second.body.toString(), 'until the end')
      assert.equal(second.reused, true)
    } finally {
      agent.destroy()
    }
  })

  it('answers pipelined requests in order, with 204, 304 and HEAD carrying no body', async () => {
    answer = (r) => {
      if (r.head.startsWith('GET /204')) return 'HTTP/1.1 204 No Content\r\nX-Which: 204\r\n\r\n'
      if (r.head.startsWith('GET /304')) return 'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\n\r\n'
      if (r.head.startsWith('HEAD')) return 'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n'
      return 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nlast'
    }
    const host = `Host: ${FQDN}\r\n`
    const text = await raw(`GET /204 HTTP/1.1\r\n${host}\r\nGET /304 HTTP/1.1\r\n${host}\r\nHEAD /h HTTP/1.1\r\n${host}\r\nGET /end HTTP/1.1\r\n${host}Connection: close\r\n\r\n`)
    const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1])
    assert.deepEqual(statuses, ['204', '304', '200', '200'])
    assert.match(text, /Content-Length: 1000\r\n/)
    assert.ok(text.endsWith('\r\n\r\nlast'), text)
    assert.match(text, /Connection: close\r\n/)
    assert.equal(backend!.requests.length, 4)
  })

  it('carries big request and response bodies', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 7, 'x')
    for (let i = 0; i < big.length; i += 4096) big[i] = i % 251
    answer = (r) => {
      const digest = createHash('sha256').update(r.body).digest('hex')
      return Buffer.concat([b(`HTTP/1.1 200 OK\r\nX-Digest: ${digest}\r\nContent-Length: ${r.body.length}\r\n\r\n`), r.body])
    }
    const agent = new https.Agent({keepAlive: true, maxSockets: 1})
    try {
      const reply = await request(agent, {method: 'POST', body: big})
      assert.equal(reply.headers['x-digest'], createHash('sha256').update(big).digest('hex'))
      assert.equal(reply.body.length, big.length)
      assert.ok(reply.body.equals(big))
      const again = await request(agent, {method: 'POST', body: b('small')})
      assert.equal(again.body.toString(), 'small')
      assert.equal(again.reused, true)
    } finally {
      agent.destroy()
    }
  })

  it('sends a safe request again, once, when the reused instance connection turns out dead', async () => {
    // The 2nd and 5th requests find their instance connection dead (each is the 2nd request on it).
    let n = 0
    answer = () => (++n === 2 || n === 5 ? 'reset' : 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')
    const agent = new https.Agent({keepAlive: true, maxSockets: 1})
    try {
      assert.equal((await request(agent)).body.toString(), 'ok')
      const retried = await request(agent)
      assert.equal(retried.status, 200)
      assert.equal(retried.body.toString(), 'ok')
      const [first, dead, fresh] = backend!.requests.slice(-3)
      assert.equal(dead!.connection, first!.connection)
      assert.notEqual(fresh!.connection, first!.connection)
      // A request with a body is not sent twice: the client gets 502.
      assert.equal((await request(agent, {method: 'POST', body: b('once')})).status, 200)
      const refused = await request(agent, {method: 'POST', body: b('once')})
      assert.equal(refused.status, 502)
      assert.equal(refused.body.toString(), 'Bad gateway.\n')
      assert.equal(platform.open_, 0)
    } finally {
      agent.destroy()
    }
  })

  it('hands a connection to node mid-stream for what it leaves alone, unread bytes included', async () => {
    answer = () => 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'
    const host = `Host: ${FQDN}\r\n`
    // The second request is HTTP/1.0: node's server takes over with it already read.
    const text = await raw(`GET /lean HTTP/1.1\r\n${host}\r\nGET /node HTTP/1.0\r\n${host}\r\n`)
    const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1])
    assert.deepEqual(statuses, ['200', '200'])
    assert.deepEqual(
      backend!.requests.map((r) => r.head.split(' ')[1]),
      ['/lean', '/node'],
    )
  })

  it('answers 503 for an unknown host, also after a proxied request on the same connection', async () => {
    answer = () => 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'
    const text = await raw(`GET / HTTP/1.1\r\nHost: ${FQDN}\r\n\r\n`.repeat(1) + `GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
    // SNI names the service, so the second request still goes there (routing prefers SNI).
    assert.deepEqual([...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]), ['200', '200'])
    platform.routes.clear()
    try {
      const refused = await raw(`GET / HTTP/1.1\r\nHost: ${FQDN}\r\nConnection: close\r\n\r\n`)
      assert.match(refused, /^HTTP\/1\.1 503 /)
      assert.match(refused, /There is no service on this URL\.\n$/)
    } finally {
      route()
    }
  })
})
