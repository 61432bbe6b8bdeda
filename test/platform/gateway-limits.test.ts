// The gateway's deadlines and connection cap, driven with real sockets. The limits are set small
// through the gateway's options; every test waits for what the client observes (a 408, a close), and
// a per-test timeout turns a missing deadline into a failure instead of a hang.
import assert from 'node:assert/strict'
import {once} from 'node:events'
import net from 'node:net'
import tls from 'node:tls'
import {after, before, describe, it} from 'node:test'
import {FQDN, GatewayFixture, statuses} from './gateway-fixture.js'

const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'
const HANG = {timeout: 30_000}

describe('gateway deadlines', () => {
  const fx = new GatewayFixture()
  before(async () => {
    await fx.start({headersTimeoutMs: 300, requestTimeoutMs: 600, keepAliveTimeoutMs: 300, handshakeTimeoutMs: 300})
    fx.answer = () => OK
  })
  after(() => fx.close())

  /** Collects what the gateway sends until it closes the connection. */
  async function untilClosed(socket: net.Socket): Promise<string> {
    let received = ''
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')))
    socket.on('error', () => {})
    await once(socket, 'close')
    return received
  }

  it('answers a request head trickled byte by byte with 408 and closes the connection', HANG, async () => {
    const socket = await fx.connect()
    const closed = untilClosed(socket)
    // A head that never ends, one byte at a time: each byte alone would keep an idle timer alive.
    const head = `GET / HTTP/1.1\r\nHost: ${FQDN}\r\nX-Slow: ${'a'.repeat(100_000)}`
    let sent = 0
    const trickle = setInterval(() => {
      if (socket.writable) socket.write(head[sent++]!)
    }, 10)
    try {
      assert.match(await closed, /^HTTP\/1\.1 408 Request Timeout\r\n/)
    } finally {
      clearInterval(trickle)
    }
    assert.ok(sent > 1, 'the head was still arriving')
    assert.equal(fx.backend.requests.length, 0)
    assert.equal(fx.platform.opens, 0)
  })

  it('answers a connection that sends nothing after the handshake with 408 and closes it', HANG, async () => {
    const socket = await fx.connect()
    assert.match(await untilClosed(socket), /^HTTP\/1\.1 408 /)
  })

  it('closes a connection whose TLS handshake does not finish, on HTTPS and on raw TLS ports', HANG, async () => {
    const raw = await fx.gateway.ensurePort(7000)
    for (const port of [fx.port(443), raw]) {
      const socket = net.connect(port, '127.0.0.1')
      await once(socket, 'connect')
      // Nothing sent: no ClientHello.
      assert.equal(await untilClosed(socket), '', `port ${port}`)
    }
  })
})

describe('gateway keep-alive deadline', () => {
  // Only the idle deadline is short here: on a busy machine the request may take longer than the
  // 300 ms head deadline above to arrive after the handshake, and would be answered 408 instead.
  const fx = new GatewayFixture()
  before(async () => {
    await fx.start({headersTimeoutMs: 30_000, requestTimeoutMs: 60_000, keepAliveTimeoutMs: 300, handshakeTimeoutMs: 30_000})
    fx.answer = () => OK
  })
  after(() => fx.close())

  it('closes an idle keep-alive client connection after a complete exchange', HANG, async () => {
    const socket = await fx.connect()
    let received = ''
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')))
    socket.on('error', () => {})
    const closed = once(socket, 'close')
    socket.write(`GET / HTTP/1.1\r\nHost: ${FQDN}\r\n\r\n`)
    await closed
    assert.deepEqual(statuses(received), ['200'], 'served, then closed while idle (no 408)')
  })
})

describe('gateway connection cap', () => {
  const fx = new GatewayFixture()
  const CAP = 3
  before(async () => {
    await fx.start({maxConnections: CAP})
    fx.answer = () => OK
  })
  after(() => fx.close())

  /** One request on an open keep-alive connection; resolves with its status line. */
  async function ask(socket: tls.TLSSocket): Promise<string> {
    let received = ''
    const onData = (chunk: Buffer) => (received += chunk.toString('latin1'))
    socket.on('data', onData)
    socket.write(`GET / HTTP/1.1\r\nHost: ${FQDN}\r\n\r\n`)
    while (!received.endsWith('\r\n\r\nok')) await once(socket, 'data')
    socket.off('data', onData)
    return received.split('\r\n')[0]!
  }

  /** A TLS connection attempt: 'connected' after the handshake, else how it ended. */
  function attempt(port: number): Promise<{outcome: 'connected'; socket: tls.TLSSocket} | {outcome: 'refused'}> {
    return new Promise((resolve) => {
      const socket = tls.connect({host: '127.0.0.1', port, servername: FQDN, ca: fx.ca.certPem})
      socket.once('secureConnect', () => resolve({outcome: 'connected', socket}))
      socket.once('error', () => resolve({outcome: 'refused'}))
      socket.once('close', () => resolve({outcome: 'refused'}))
    })
  }

  it('refuses connections past the cap while the earlier ones keep working; a freed slot is usable again', HANG, async () => {
    const open: tls.TLSSocket[] = []
    try {
      for (let i = 0; i < CAP; i++) {
        open.push(await fx.connect())
        assert.equal(await ask(open[i]!), 'HTTP/1.1 200 OK')
      }
      assert.equal((await attempt(fx.port())).outcome, 'refused')
      assert.equal((await attempt(fx.port())).outcome, 'refused')
      for (const socket of open) assert.equal(await ask(socket), 'HTTP/1.1 200 OK', 'earlier connections are unaffected')
      assert.ok(fx.logs.some((line) => line.includes(`${CAP} connections open, refusing new ones`)), fx.logs.join('\n'))

      // One client leaves: once the gateway saw it go, a new connection gets its slot.
      const leaving = open.pop()!
      leaving.end()
      await once(leaving, 'close')
      let next = await attempt(fx.port())
      for (let tries = 0; next.outcome === 'refused' && tries < 1000; tries++) next = await attempt(fx.port())
      assert.equal(next.outcome, 'connected')
      if (next.outcome === 'connected') {
        open.push(next.socket)
        assert.equal(await ask(next.socket), 'HTTP/1.1 200 OK')
      }
    } finally {
      for (const socket of open) socket.destroy()
    }
  })
})
