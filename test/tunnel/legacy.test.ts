// Legacy mode (the official kraft relay's protocol): the relay's args and create request as kraft
// builds them, and the client's cookie/status handshake against a fake relay behind TLS.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import tls from 'node:tls'
import {after, before, describe, it} from 'node:test'

import {UsageError} from '../../src/api/index.js'
import {CertificateAuthority} from '../../src/platform/tls/index.js'
import {COOKIE_ENV, HEARTBEAT, isLegacyImage, legacyArgs, moveCookieToEnv, newCookie, parseLegacyArgs} from '../../src/tunnel/legacy/protocol.js'
import {legacyCreateRequest, legacyForwards, legacyPorts} from '../../src/tunnel/legacy/request.js'
import {LegacyLink, TunnelListeners} from '../../src/tunnel/index.js'
import {collect, connect, waitFor} from './harness.js'

describe('legacy relay args and request', () => {
  it('builds kraft\'s four args and the relay parses them back', () => {
    const cookie = 'Ab3'.padEnd(32, 'x')
    const args = legacyArgs({controlPort: 4443, cookie, forwards: [{host: '127.16.0.3', destPort: 8080, exposedPort: 4444}, {host: 'db.internal', destPort: 5432, exposedPort: 4445}]})
    assert.deepEqual(args, ['4443:5', `5:${cookie}`, '600', '[TCP2TCP:127.16.0.3:8080:4444:27|TCP2TCP:db.internal:5432:4445:27]'])
    const parsed = parseLegacyArgs(args)
    assert.equal(parsed.controlPort, 4443)
    assert.equal(parsed.cookie, cookie)
    assert.equal(parsed.authTimeoutS, 5)
    assert.equal(parsed.evsTimeoutS, 600)
    assert.deepEqual(parsed.forwards[1], {host: 'db.internal', destPort: 5432, exposedPort: 4445, budget: 27})
    assert.throws(() => parseLegacyArgs(['4443:5', `5:${cookie}`, '600', '[TCP2UDP:1.2.3.4:53:4444:27]']), /only TCP/)
  })

  it('moves the cookie out of the args into the environment, where the emulated relay reads it', () => {
    const cookie = newCookie()
    const args = legacyArgs({controlPort: 4443, cookie, forwards: [{host: '127.16.0.3', destPort: 8080, exposedPort: 4444}]})
    const moved = moveCookieToEnv(args)
    assert.deepEqual(moved.args, ['4443:5', '5:$UKC_TUNNEL_COOKIE', '600', '[TCP2TCP:127.16.0.3:8080:4444:27]'])
    assert.ok(!moved.args.join(' ').includes(cookie))
    assert.deepEqual(moved.env, {[COOKIE_ENV]: cookie})
    assert.equal(parseLegacyArgs(moved.args, moved.env).cookie, cookie)
    assert.deepEqual(moveCookieToEnv(moved.args), {args: moved.args, env: {}}, 'moving twice changes nothing')
    assert.throws(() => parseLegacyArgs(moved.args, {}), /UKC_TUNNEL_COOKIE holds no cookie/)
  })

  it('creates the relay as kraft does: a tls service per exposed port and the control port, 64 MB, 3 s wait, delete-on-stop', () => {
    const ports = legacyPorts(2)
    assert.deepEqual(ports, {controlPort: 4443, exposedPorts: [4444, 4445]})
    const forwards = legacyForwards(['127.16.0.3:8080', 'web.internal:80'], ports)
    const request = legacyCreateRequest({image: 'official/utils/tunnel:1.0', cookie: newCookie(), controlPort: ports.controlPort, forwards})
    assert.equal(request.image, 'official/utils/tunnel:1.0')
    assert.equal(request.memory_mb, 64)
    assert.equal(request.autostart, true)
    assert.equal(request.wait_timeout_ms, 3000)
    assert.deepEqual(request.features, ['delete-on-stop'])
    assert.deepEqual((request.service_group as {services?: unknown})?.services, [
      {port: 4444, destination_port: 4444, handlers: ['tls']},
      {port: 4445, destination_port: 4445, handlers: ['tls']},
      {port: 4443, destination_port: 4443, handlers: ['tls']},
    ])
    assert.equal(request.args?.[3], '[TCP2TCP:127.16.0.3:8080:4444:27|TCP2TCP:web.internal:80:4445:27]')
  })

  it('takes -p as a start port or one per mapping, -P as the control port, and refuses what kraft refuses', () => {
    assert.deepEqual(legacyPorts(3, [5444], 5443), {controlPort: 5443, exposedPorts: [5444, 5445, 5446]})
    assert.deepEqual(legacyPorts(2, [7000, 6000]).exposedPorts, [7000, 6000])
    assert.throws(() => legacyPorts(3, [7000, 6000]), (e: Error) => e instanceof UsageError && /2 --tunnel-proxy-port values for 3/.test(e.message))
    assert.throws(() => legacyPorts(2, [4442]), /both the control port and a proxy port/)
    assert.throws(() => legacyForwards(['[fd00::1]:80'], legacyPorts(1)), /IPv6/)
  })

  it('makes 32-character [0-9A-Za-z] cookies, fresh each time, and recognises the official image by name', () => {
    const a = newCookie()
    assert.match(a, /^[0-9A-Za-z]{32}$/)
    assert.notEqual(a, newCookie())
    assert.equal(isLegacyImage('official/utils/tunnel:1.0'), true)
    assert.equal(isLegacyImage('official/utils/tunnel:latest'), true)
    assert.equal(isLegacyImage('ukc/tunnel-relay'), false)
  })
})

describe('legacy client against a fake relay', () => {
  const FQDN = 'relay-abc.local.localhost'
  const COOKIE = newCookie()
  let dir: string
  let ca: CertificateAuthority
  let dataServer: tls.Server
  let controlServer: tls.Server
  let dataPort = 0
  let controlPort = 0
  /** What the fake relay answers after a right cookie; 1 = then echo. */
  let status = 1
  let silent = false
  const control: Buffer[] = []
  const cookies: string[] = []
  const fakeSockets = new Set<net.Socket>()

  async function listen(server: tls.Server): Promise<number> {
    server.on('secureConnection', (s) => {
      fakeSockets.add(s)
      s.once('close', () => fakeSockets.delete(s))
    })
    return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)))
  }

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-legacy-'))
    ca = await CertificateAuthority.loadOrCreate(dir, {domain: 'local.localhost'})
    const {cert, key} = await ca.issue([FQDN])
    dataServer = tls.createServer({cert, key, allowHalfOpen: true}, (socket) => {
      let got = Buffer.alloc(0)
      const onData = (chunk: Buffer): void => {
        got = Buffer.concat([got, chunk])
        if (got.length < 32) return
        socket.off('data', onData)
        cookies.push(got.subarray(0, 32).toString())
        if (silent) return
        const answer = Buffer.alloc(2)
        answer.writeInt16LE(got.subarray(0, 32).toString() === COOKIE ? status : -1)
        if (status <= 0) return void socket.end(answer)
        socket.write(answer)
        if (got.length > 32) socket.write(got.subarray(32))
        socket.pipe(socket) // echo, ending when the client ends
      }
      socket.on('data', onData)
      socket.on('error', () => undefined)
    })
    controlServer = tls.createServer({cert, key}, (socket) => {
      socket.on('data', (chunk: Buffer) => control.push(chunk))
      socket.on('error', () => undefined)
    })
    dataPort = await listen(dataServer)
    controlPort = await listen(controlServer)
  })

  after(async () => {
    for (const s of fakeSockets) s.destroy()
    await new Promise((resolve) => dataServer.close(resolve))
    await new Promise((resolve) => controlServer.close(resolve))
    fs.rmSync(dir, {recursive: true, force: true})
  })

  /** The run loop's listeners carrying connections over a legacy link to the fake relay. */
  async function client(log: string[], handshakeTimeoutMs = 5_000, bind = '127.0.0.1'): Promise<{tunnel: {close(drainMs: number): Promise<void>}; port: number}> {
    const listeners = new TunnelListeners({forwards: [{bind, localPort: 0, label: 'echo:9000'}], log: (line) => log.push(line)})
    const link = new LegacyLink({
      endpoint: {fqdn: FQDN, ca: ca.certPem, address: (port) => ({host: '127.0.0.1', port: port === 4444 ? dataPort : controlPort})},
      cookie: COOKIE,
      controlPort: 4443,
      relayName: 'relay-x',
      forwards: [{exposedPort: 4444, label: 'echo:9000'}],
      heartbeatMs: 50,
      handshakeTimeoutMs,
      log: (line) => log.push(line),
    })
    const [local] = await listeners.listen()
    listeners.use(link)
    await link.connect({deadlineMs: 5_000})
    const close = async (drainMs: number): Promise<void> => {
      await listeners.drain(drainMs)
      link.close()
      await listeners.close()
    }
    return {tunnel: {close}, port: local?.port ?? 0}
  }

  it('status 1: bytes echo through and a half-closed request still gets its whole reply; the control port gets cookie + heartbeats', async () => {
    status = 1
    silent = false
    const log: string[] = []
    const {tunnel, port} = await client(log)
    try {
      const socket = await connect(port)
      const got = collect(socket)
      const payload = Buffer.alloc(300_000, 'legacy ')
      socket.end(payload)
      const {data, error} = await got
      assert.equal(error, undefined)
      assert.equal(data.length, payload.length)
      assert.ok(data.equals(payload))
      assert.equal(cookies.at(-1), COOKIE)
      const sent = await waitFor(() => {
        const all = Buffer.concat(control)
        return all.length >= 32 + 3 * HEARTBEAT.length ? all : undefined
      }, 5_000, () => 'three heartbeats')
      assert.equal(sent.subarray(0, 32).toString(), COOKIE)
      assert.ok(sent.subarray(32, 32 + HEARTBEAT.length).equals(HEARTBEAT))
      assert.ok(sent.subarray(32 + 2 * HEARTBEAT.length, 32 + 3 * HEARTBEAT.length).equals(HEARTBEAT))
    } finally {
      await tunnel.close(0)
    }
  })

  it('--bind localhost listens on 127.0.0.1 and ::1 on the same port, as the WebSocket relay\'s listeners do', async () => {
    status = 1
    silent = false
    const log: string[] = []
    const {tunnel, port} = await client(log, 5_000, 'localhost')
    try {
      for (const host of ['127.0.0.1', '::1']) {
        const socket = net.connect({host, port, allowHalfOpen: true})
        const got = collect(socket)
        socket.end(`over ${host}`)
        const {data, error} = await got
        assert.equal(error, undefined)
        assert.equal(data.toString(), `over ${host}`)
      }
    } finally {
      await tunnel.close(0)
    }
  })

  it('status 0: the local connection is closed and the user is told to try again later', async () => {
    status = 0
    const log: string[] = []
    const {tunnel, port} = await client(log)
    try {
      const socket = await connect(port)
      const {data} = await collect(socket)
      assert.equal(data.length, 0)
      assert.match(log.join('\n'), /connection to echo:9000 .* failed: no more available connections to remote host\. Try again later/)
    } finally {
      await tunnel.close(0)
    }
  })

  it('status -3: an internal tunnel error that names the relay\'s logs', async () => {
    status = -3
    const log: string[] = []
    const {tunnel, port} = await client(log)
    try {
      const socket = await connect(port)
      await collect(socket)
      assert.match(log.join('\n'), /internal tunnel error \(C=-3\), to view logs run: ukc instance logs relay-x/)
    } finally {
      await tunnel.close(0)
    }
  })

  it('a relay that never answers: the connection fails after the handshake timeout, with a message', async () => {
    silent = true
    const log: string[] = []
    const {tunnel, port} = await client(log, 300)
    try {
      const socket = await connect(port)
      const {data} = await collect(socket)
      assert.equal(data.length, 0)
      assert.match(log.join('\n'), /did not answer within 0\.3 s/)
    } finally {
      silent = false
      await tunnel.close(0)
    }
  })
})
