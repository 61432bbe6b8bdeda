// HTTP/1.1 through the gateway's HTTPS front as clients and instances see it on the wire: header rules,
// keep-alive both ways, every body framing, pipelining, Expect, HTTP/1.0, malformed heads, retries.
// The instance is a raw TCP server that scripts its exact bytes.
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {once} from 'node:events'
import type http from 'node:http'
import https from 'node:https'
import {after, before, beforeEach, describe, it} from 'node:test'
import {FQDN, GatewayFixture, statuses, until} from './gateway-fixture.js'

const b = (text: string) => Buffer.from(text, 'latin1')
const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'

const fx = new GatewayFixture()

function request(agent: https.Agent, options: {method?: string; path?: string; body?: Buffer} = {}): Promise<{status: number; headers: http.IncomingHttpHeaders; body: Buffer; reused: boolean}> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {host: '127.0.0.1', port: fx.port(), servername: FQDN, ca: fx.ca.certPem, headers: {host: FQDN}, agent, method: options.method ?? 'GET', path: options.path ?? '/'},
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

before(() => fx.start())
after(() => fx.close())
beforeEach(() => {
  fx.backend.requests.length = 0
  fx.platform.opens = 0
  fx.logs.length = 0
})

describe('gateway headers', () => {
  it('passes end-to-end headers as sent, drops hop-by-hop ones (and those Connection lists), sets X-Forwarded-*', async () => {
    fx.answer = () => 'HTTP/1.1 200 OK\r\nX-Internal: secret\r\nConnection: X-Internal\r\nX-Case: Kept\r\nContent-Length: 2\r\n\r\nok'
    const text = await fx.exchange(
      `POST /a?b=1 HTTP/1.1\r\nHost: ${FQDN}\r\nX-Custom: One\r\nConnection: close, X-Secret\r\nX-Secret: s\r\nKeep-Alive: 5\r\nTE: trailers\r\n` +
        'Content-Length: 3\r\nX-Forwarded-For: 10.1.1.1\r\nX-Forwarded-For: 10.2.2.2\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: elsewhere\r\n\r\nabc',
    )
    const [seen] = fx.backend.requests
    const [requestLine, ...lines] = seen!.head.split('\r\n')
    assert.equal(requestLine, 'POST /a?b=1 HTTP/1.1')
    // Names are case-insensitive (the gateway's client writes Host and Content-Length its own way).
    const fields = lines.filter((l) => !/^connection:/i.test(l)).map((l) => l.replace(/^[^:]+/, (name) => name.toLowerCase()))
    assert.deepEqual(fields.sort(), [
      'content-length: 3',
      `host: ${FQDN}`,
      'x-custom: One',
      'x-forwarded-for: 10.1.1.1, 10.2.2.2, 127.0.0.1',
      `x-forwarded-host: ${FQDN}`,
      'x-forwarded-proto: https',
    ])
    assert.ok(lines.includes('X-Custom: One'), 'end-to-end names keep their case')
    assert.equal(seen!.body.toString(), 'abc')
    // The client sees the instance's end-to-end headers as sent, and none it marked hop-by-hop.
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n/)
    assert.match(text, /\r\nX-Case: Kept\r\n/)
    assert.doesNotMatch(text, /X-Internal/i)
    assert.ok(text.endsWith('\r\n\r\nok'))
  })

  it('forwards an upgrade with the same X-Forwarded-* and hop-by-hop rules, keeping Connection and Upgrade', async () => {
    fx.answer = () => 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n'
    const socket = await fx.connect()
    let received = ''
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')))
    socket.write(`GET /chat HTTP/1.1\r\nHost: ${FQDN}\r\nConnection: Upgrade\r\nUpgrade: echo\r\nKeep-Alive: 5\r\nX-Forwarded-For: 10.1.1.1\r\nX-Forwarded-Proto: http\r\n\r\n`)
    await new Promise<void>((resolve) => socket.on('data', () => received.includes('\r\n\r\n') && resolve()))
    assert.match(received, /^HTTP\/1\.1 101 /)
    const lines = fx.backend.requests[0]!.head.split('\r\n')
    assert.deepEqual(lines, [
      'GET /chat HTTP/1.1',
      `Host: ${FQDN}`,
      'Connection: Upgrade',
      'Upgrade: echo',
      'X-Forwarded-For: 10.1.1.1, 127.0.0.1',
      'X-Forwarded-Proto: https',
      `X-Forwarded-Host: ${FQDN}`,
    ])
    // The upgraded connection holds the instance until it closes.
    assert.equal(fx.platform.open_, 1)
    socket.destroy()
    await until(() => fx.platform.open_ === 0, 'the upgraded connection to close on the tracker')
  })
})

describe('gateway keep-alive and framing', () => {
  it('passes a chunked response through and keeps both connections alive', async () => {
    fx.answer = () => 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n'
    const agent = new https.Agent({keepAlive: true, maxSockets: 1})
    try {
      const first = await request(agent)
      const second = await request(agent)
      assert.equal(first.body.toString(), 'hello world')
      assert.equal(second.body.toString(), 'hello world')
      assert.equal(second.reused, true)
      assert.equal(first.headers.connection, 'keep-alive')
      const requests = fx.backend.requests.slice(-2)
      assert.equal(requests[1]!.connection, requests[0]!.connection, 'the instance connection is reused')
      assert.equal(fx.platform.opens, 2, 'each request is balanced (opened on the tracker) on its own')
      await until(() => fx.platform.open_ === 0, 'every request to close on the tracker')
    } finally {
      agent.destroy()
    }
  })

  it('re-frames a body that ends with the instance connection, keeping the client connection', async () => {
    fx.answer = () => 'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end'
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
    fx.answer = (r) => {
      if (r.head.startsWith('GET /204')) return 'HTTP/1.1 204 No Content\r\nX-Which: 204\r\n\r\n'
      if (r.head.startsWith('GET /304')) return 'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\n\r\n'
      if (r.head.startsWith('HEAD')) return 'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n'
      return 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nlast'
    }
    const host = `Host: ${FQDN}\r\n`
    const text = await fx.exchange(`GET /204 HTTP/1.1\r\n${host}\r\nGET /304 HTTP/1.1\r\n${host}\r\nHEAD /h HTTP/1.1\r\n${host}\r\nGET /end HTTP/1.1\r\n${host}Connection: close\r\n\r\n`)
    assert.deepEqual(statuses(text), ['204', '304', '200', '200'])
    assert.match(text, /Content-Length: 1000\r\n/)
    assert.ok(text.endsWith('\r\n\r\nlast'), text)
    assert.match(text, /Connection: close\r\n/)
    assert.equal(fx.backend.requests.length, 4)
  })

  it('carries big request and response bodies', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 7, 'x')
    for (let i = 0; i < big.length; i += 4096) big[i] = i % 251
    fx.answer = (r) => {
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

  it('releases the instance and its connection when the client leaves in the middle of a response', async () => {
    // A response far longer than what socket buffers hold, never finished by the instance.
    fx.answer = () => Buffer.concat([b('HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n'), Buffer.alloc(4 * 1024 * 1024, 'x')])
    const socket = await fx.connect()
    socket.write(`GET /long HTTP/1.1\r\nHost: ${FQDN}\r\n\r\n`)
    await once(socket, 'data')
    assert.equal(fx.platform.open_, 1, 'the request holds the instance')
    socket.destroy()
    const {connection} = fx.backend.requests[0]!
    await until(() => fx.platform.open_ === 0 && fx.backend.closed.has(connection), 'the request and its instance connection to end')
  })

  it('forwards a chunked request body', async () => {
    fx.answer = (r) => `HTTP/1.1 200 OK\r\nContent-Length: ${r.body.length}\r\n\r\n${r.body.toString('latin1')}`
    const text = await fx.exchange(`POST /up HTTP/1.1\r\nHost: ${FQDN}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n`)
    assert.deepEqual(statuses(text), ['200'])
    assert.ok(text.endsWith('\r\n\r\nhello world'), text)
    assert.equal(fx.backend.requests[0]!.body.toString(), 'hello world')
  })

  it('answers Expect: 100-continue itself, then forwards the body without the Expect header', async () => {
    fx.answer = (r) => `HTTP/1.1 200 OK\r\nContent-Length: ${r.body.length}\r\n\r\n${r.body.toString('latin1')}`
    const socket = await fx.connect()
    let received = ''
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')))
    socket.write(`PUT /file HTTP/1.1\r\nHost: ${FQDN}\r\nExpect: 100-continue\r\nContent-Length: 4\r\nConnection: close\r\n\r\n`)
    await new Promise<void>((resolve) => socket.on('data', () => received.includes('100 Continue\r\n\r\n') && resolve()))
    assert.equal(fx.backend.requests.length, 0, 'nothing reaches the instance before the body')
    socket.write('data')
    await once(socket, 'close')
    assert.deepEqual(statuses(received), ['100', '200'])
    assert.ok(received.endsWith('\r\n\r\ndata'))
    assert.doesNotMatch(fx.backend.requests[0]!.head, /expect/i)
  })

  it('serves an HTTP/1.0 request after an HTTP/1.1 one on the same connection, then closes', async () => {
    fx.answer = () => OK
    const host = `Host: ${FQDN}\r\n`
    const text = await fx.exchange(`GET /first HTTP/1.1\r\n${host}\r\nGET /second HTTP/1.0\r\n${host}\r\n`)
    assert.deepEqual(statuses(text), ['200', '200'])
    assert.deepEqual(
      fx.backend.requests.map((r) => r.head.split(' ')[1]),
      ['/first', '/second'],
    )
  })

  it('drops informational answers of the instance and forwards its final one', async () => {
    fx.answer = () => `HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n${OK}`
    const text = await fx.exchange(`GET / HTTP/1.1\r\nHost: ${FQDN}\r\nConnection: close\r\n\r\n`)
    assert.deepEqual(statuses(text), ['200'])
    assert.ok(text.endsWith('\r\n\r\nok'))
  })
})

describe('gateway errors', () => {
  it('answers malformed request heads with 400 (431 when too large) and closes, without bothering the instance', async () => {
    fx.answer = () => OK
    for (const head of [
      `GET /a b HTTP/1.1\r\nHost: ${FQDN}\r\n\r\n`,
      `GET / HTTP/1.1\r\nHost: ${FQDN}\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n`,
      `GET / HTTP/1.1\r\nHost: ${FQDN}\r\nno colon here\r\n\r\n`,
      `GET / HTTP/1.1\r\nHost: ${FQDN}\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n`,
    ]) {
      assert.match(await fx.exchange(head), /^HTTP\/1\.1 400 Bad Request\r\n/, head)
    }
    assert.match(await fx.exchange(`GET / HTTP/1.1\r\nHost: ${FQDN}\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`), /^HTTP\/1\.1 431 /)
    // CONNECT is not something the gateway proxies: the connection just closes.
    assert.equal(await fx.exchange(`CONNECT ${FQDN}:443 HTTP/1.1\r\nHost: ${FQDN}:443\r\n\r\n`), '')
    assert.equal(fx.backend.requests.length, 0)
    assert.equal(fx.platform.opens, 0)
  })

  it('answers 502 when the instance does not speak HTTP', async () => {
    fx.answer = () => 'SSH-2.0-OpenSSH_9.6\r\n\r\n'
    const text = await fx.exchange(`GET / HTTP/1.1\r\nHost: ${FQDN}\r\nConnection: close\r\n\r\n`)
    assert.match(text, /^HTTP\/1\.1 502 /)
    assert.ok(text.endsWith('Bad gateway.\n'))
    await until(() => fx.platform.open_ === 0, 'the request to close on the tracker')
  })

  it('sends a safe request again, once, when the reused instance connection turns out dead', async () => {
    // The 2nd and 5th requests find their instance connection dead (each is the 2nd request on it).
    let n = 0
    fx.answer = () => (++n === 2 || n === 5 ? 'reset' : OK)
    const agent = new https.Agent({keepAlive: true, maxSockets: 1})
    try {
      assert.equal((await request(agent)).body.toString(), 'ok')
      const retried = await request(agent)
      assert.equal(retried.status, 200)
      assert.equal(retried.body.toString(), 'ok')
      const [first, dead, fresh] = fx.backend.requests.slice(-3)
      assert.equal(dead!.connection, first!.connection)
      assert.notEqual(fresh!.connection, first!.connection)
      // A request with a body is not sent twice: the client gets 502.
      assert.equal((await request(agent, {method: 'POST', body: b('once')})).status, 200)
      const refused = await request(agent, {method: 'POST', body: b('once')})
      assert.equal(refused.status, 502)
      assert.equal(refused.body.toString(), 'Bad gateway.\n')
      await until(() => fx.platform.open_ === 0, 'every request to close on the tracker')
    } finally {
      agent.destroy()
    }
  })

  it('answers 503 for an unknown service, and routes by SNI before the Host header', async () => {
    fx.answer = () => OK
    const text = await fx.exchange(`GET / HTTP/1.1\r\nHost: ${FQDN}\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
    // SNI names the service, so the second request still goes there.
    assert.deepEqual(statuses(text), ['200', '200'])
    fx.platform.routes.clear()
    try {
      const refused = await fx.exchange(`GET / HTTP/1.1\r\nHost: ${FQDN}\r\nConnection: close\r\n\r\n`)
      assert.match(refused, /^HTTP\/1\.1 503 /)
      assert.match(refused, /There is no service on this URL\.\n$/)
    } finally {
      fx.platform.publish()
    }
  })
})
