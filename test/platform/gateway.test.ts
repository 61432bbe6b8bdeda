// No ../setup.js here: nock's interceptor replaces http sockets, which hides the keep-alive this suite
// checks. Every socket below is on 127.0.0.1.
import assert from 'node:assert/strict'
import {once} from 'node:events'
import fs from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import tls from 'node:tls'
import {after, before, beforeEach, describe, it} from 'node:test'
import {type ClientOptions, WebSocket, WebSocketServer} from 'ws'
import {Gateway} from '../../src/platform/gateway/index.js'
import {CertificateAuthority} from '../../src/platform/tls/index.js'
import type {BackendAddress, ConnectionTracker, GatewayRoute, InstanceState, ServicePort} from '../../src/platform/types.js'

const DOMAIN = 'local.localhost'
const WEB: ServicePort[] = [
  {port: 443, destination_port: 8080, handlers: ['http', 'tls']},
  {port: 80, destination_port: 443, handlers: ['http', 'redirect']},
]

/** RouteTable + ConnectionTracker backed by maps, recording what the gateway asks. */
class FakePlatform implements ConnectionTracker {
  readonly routes = new Map<string, GatewayRoute>()
  readonly backends = new Map<string, BackendAddress>()
  readonly opened: Array<{uuid: string; port: number; via: string}> = []
  readonly refuse = new Set<string>()
  readonly live = new Map<string, number>()
  closes = 0
  activities = 0

  route(fqdn: string): GatewayRoute | undefined {
    return this.routes.get(fqdn)
  }

  async open(uuid: string, port: number, via: 'public' | 'private'): Promise<BackendAddress> {
    this.opened.push({uuid, port, via})
    if (this.refuse.has(uuid)) throw new Error('instance failed to start')
    const backend = this.backends.get(uuid)
    if (!backend) throw new Error(`no backend for ${uuid}`)
    this.live.set(uuid, (this.live.get(uuid) ?? 0) + 1)
    return backend
  }

  activity(): void {
    this.activities++
  }

  close(uuid: string): void {
    this.closes++
    this.live.set(uuid, (this.live.get(uuid) ?? 0) - 1)
  }

  /** Total connections the tracker still counts as open. */
  openCount(): number {
    return [...this.live.values()].reduce((a, b) => a + b, 0)
  }

  service(fqdn: string, instances: Array<{uuid: string; state?: InstanceState; backend?: BackendAddress}>, extra: Partial<GatewayRoute> = {}): void {
    for (const i of instances) if (i.backend) this.backends.set(i.uuid, i.backend)
    this.routes.set(fqdn, {
      serviceUuid: `svc-${fqdn}`,
      services: WEB,
      softLimit: 1,
      hardLimit: 65_535,
      instances: instances.map((i) => ({uuid: i.uuid, state: i.state ?? 'running'})),
      ...extra,
    })
  }

  reset(): void {
    this.routes.clear()
    this.backends.clear()
    this.opened.length = 0
    this.refuse.clear()
    this.live.clear()
    this.closes = 0
    this.activities = 0
  }
}

/** An HTTP backend that can hold requests until the test lets them go. */
class Backend {
  readonly server: http.Server
  readonly seen: Array<{url: string; headers: http.IncomingHttpHeaders}> = []
  readonly held: http.ServerResponse[] = []
  hold = false
  address!: BackendAddress

  constructor(readonly name: string) {
    this.server = http.createServer((req, res) => {
      this.seen.push({url: req.url ?? '', headers: req.headers})
      req.resume()
      req.on('end', () => {
        if (this.hold) {
          this.held.push(res)
          this.server.emit('held')
        } else res.end(`${this.name} ${req.method} ${req.url}`)
      })
    })
  }

  async start(): Promise<this> {
    this.address = {host: '127.0.0.1', port: await listen(this.server)}
    return this
  }

  release(): void {
    for (const res of this.held.splice(0)) res.end(this.name)
  }

  async close(): Promise<void> {
    this.release()
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}

async function listen(server: net.Server): Promise<number> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return (server.address() as net.AddressInfo).port
}

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setImmediate(resolve))
  }
}

interface Reply {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
  reused: boolean
}

let ca: CertificateAuthority
let gateway: Gateway
const platform = new FakePlatform()
const backends: Backend[] = []
const logs: string[] = []
let caDir: string

function get(fqdn: string, options: {path?: string; method?: string; agent?: https.Agent | http.Agent | false; plain?: boolean; body?: string} = {}): Promise<Reply> {
  const client = options.plain ? http : https
  const port = gateway.ports()[options.plain ? '80' : '443']!
  return new Promise((resolve, reject) => {
    const req = client.request(
      {
        host: '127.0.0.1',
        port,
        path: options.path ?? '/',
        method: options.method ?? 'GET',
        headers: {host: `${fqdn}:${port}`},
        ...(options.plain ? {} : {servername: fqdn, ca: ca.certPem}),
        agent: options.agent ?? false,
      },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (body += chunk))
        res.on('end', () => resolve({status: res.statusCode ?? 0, headers: res.headers, body, reused: req.reusedSocket}))
      },
    )
    req.on('error', reject)
    req.end(options.body)
  })
}

async function backend(name: string): Promise<Backend> {
  const b = await new Backend(name).start()
  backends.push(b)
  return b
}

before(async () => {
  caDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-gw-'))
  ca = await CertificateAuthority.loadOrCreate(caDir)
  gateway = new Gateway({host: '127.0.0.1', domain: DOMAIN, ca, httpsPort: 0, httpPort: 0, routes: platform, tracker: platform, log: (line) => logs.push(line)})
  await gateway.start()
})

after(async () => {
  await gateway.close()
  await Promise.all(backends.map((b) => b.close()))
  fs.rmSync(caDir, {recursive: true, force: true})
})

beforeEach(() => platform.reset())

describe('Gateway HTTPS', () => {
  it('serves a service at its FQDN over HTTPS that trusts only the platform CA, with X-Forwarded headers', async () => {
    const app = await backend('app')
    platform.service(`app.${DOMAIN}`, [{uuid: 'i-app', backend: app.address}])
    const reply = await get(`app.${DOMAIN}`, {path: '/hello?x=1'})
    assert.equal(reply.status, 200)
    assert.equal(reply.body, 'app GET /hello?x=1')
    const seen = app.seen.at(-1)!
    assert.equal(seen.headers['x-forwarded-proto'], 'https')
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1')
    assert.equal(seen.headers['x-forwarded-host'], `app.${DOMAIN}:${gateway.ports()['443']}`)
    assert.deepEqual(platform.opened, [{uuid: 'i-app', port: 8080, via: 'public'}])
    await until(() => platform.closes === 1, 'tracker.close')
    assert.equal(platform.openCount(), 0)
    assert.ok(platform.activities >= 1)
  })

  it('routes by SNI: two services on the metro domain and a custom FQDN with a leaf of its own', async () => {
    const one = await backend('one')
    const two = await backend('two')
    const shop = await backend('shop')
    platform.service(`one.${DOMAIN}`, [{uuid: 'i-one', backend: one.address}])
    platform.service(`two.${DOMAIN}`, [{uuid: 'i-two', backend: two.address}])
    platform.service('shop.example.test', [{uuid: 'i-shop', backend: shop.address}])
    assert.equal((await get(`one.${DOMAIN}`)).body, 'one GET /')
    assert.equal((await get(`two.${DOMAIN}`)).body, 'two GET /')
    assert.equal((await get('shop.example.test')).body, 'shop GET /')
  })

  it('mints a certificate for a deeper or custom name only when it routes somewhere', async () => {
    const deep = await backend('deep')
    platform.service(`api.deep.${DOMAIN}`, [{uuid: 'i-deep', backend: deep.address}])
    assert.equal((await get(`api.deep.${DOMAIN}`)).body, 'deep GET /')
    const presented = async (servername: string) => {
      const socket = tls.connect({host: '127.0.0.1', port: gateway.ports()['443']!, servername, rejectUnauthorized: false})
      await once(socket, 'secureConnect')
      const san = socket.getPeerCertificate().subjectaltname
      socket.destroy()
      return san
    }
    assert.equal(await presented(`api.deep.${DOMAIN}`), `DNS:api.deep.${DOMAIN}`)
    assert.equal(await presented(`random.deep.${DOMAIN}`), `DNS:*.${DOMAIN}, DNS:${DOMAIN}`)
    assert.equal(await presented('random.example.test'), `DNS:*.${DOMAIN}, DNS:${DOMAIN}`)
  })

  it('answers an unknown host with 503 "There is no service on this URL."', async () => {
    const reply = await get(`nobody.${DOMAIN}`)
    assert.equal(reply.status, 503)
    assert.equal(reply.body.trim(), 'There is no service on this URL.')
    platform.service(`empty.${DOMAIN}`, [{uuid: 'i-gone', state: 'stopped'}])
    const stopped = await get(`empty.${DOMAIN}`)
    assert.equal(stopped.status, 503)
    assert.equal(stopped.body.trim(), 'There is no service on this URL.')
    assert.equal(platform.opened.length, 0)
  })

  it('answers 503 when the tracker cannot open the instance, and does not count it as open', async () => {
    const app = await backend('app')
    platform.service(`broken.${DOMAIN}`, [{uuid: 'i-broken', backend: app.address}])
    platform.refuse.add('i-broken')
    const reply = await get(`broken.${DOMAIN}`)
    assert.equal(reply.status, 503)
    assert.equal(app.seen.length, 0)
    assert.equal(platform.closes, 0)
    assert.equal(gateway.load('i-broken'), 0)
  })

  it('answers 502 when the instance refuses the connection', async () => {
    const closed = net.createServer()
    const port = await listen(closed)
    await new Promise<void>((resolve) => closed.close(() => resolve()))
    platform.service(`down.${DOMAIN}`, [{uuid: 'i-down', backend: {host: '127.0.0.1', port}}])
    const reply = await get(`down.${DOMAIN}`)
    assert.equal(reply.status, 502)
    await until(() => platform.closes === 1, 'tracker.close')
  })

  it('proxies request bodies and keeps client connections alive while balancing each request', async () => {
    const bs = [await backend('a'), await backend('b'), await backend('c')]
    platform.service(`kept.${DOMAIN}`, bs.map((b, i) => ({uuid: `i-${i}`, backend: b.address})))
    const agent = new https.Agent({keepAlive: true, maxSockets: 1})
    try {
      const replies: Reply[] = []
      for (let i = 0; i < 6; i++) replies.push(await get(`kept.${DOMAIN}`, {agent}))
      assert.ok(replies.slice(1).every((r) => r.reused), `one client connection ${JSON.stringify(replies)}`)
      assert.deepEqual(new Set(replies.map((r) => r.body.split(' ')[0])), new Set(['a', 'b', 'c']))
      const posted = await get(`kept.${DOMAIN}`, {agent, method: 'POST', path: '/form', body: 'x'.repeat(100_000)})
      assert.equal(posted.status, 200)
      assert.match(posted.body, /POST \/form$/)
    } finally {
      agent.destroy()
    }
  })

  it('resumes TLS sessions, so reconnecting clients skip the full handshake', async () => {
    const port = gateway.ports()['443']!
    let session: Buffer | undefined
    const reused: boolean[] = []
    for (let i = 0; i < 2; i++) {
      const socket = tls.connect({host: '127.0.0.1', port, ca: ca.certPem, servername: `app.${DOMAIN}`, session})
      socket.on('session', (ticket: Buffer) => (session = ticket))
      await once(socket, 'secureConnect')
      reused.push(socket.isSessionReused())
      // TLS 1.3 tickets arrive after the handshake: ask for a page and read to the end.
      socket.end(`GET / HTTP/1.1\r\nHost: app.${DOMAIN}\r\nConnection: close\r\n\r\n`)
      socket.resume()
      await once(socket, 'close')
    }
    assert.deepEqual(reused, [false, true])
  })
})

describe('Gateway port 80', () => {
  it('redirects to https with the gateway https port, 301 for GET and 308 otherwise', async () => {
    platform.service(`app.${DOMAIN}`, [{uuid: 'i-app', backend: {host: '127.0.0.1', port: 1}}])
    const httpsPort = gateway.ports()['443']
    const reply = await get(`app.${DOMAIN}`, {plain: true, path: '/a/b?c=d'})
    assert.equal(reply.status, 301)
    assert.equal(reply.headers.location, `https://app.${DOMAIN}:${httpsPort}/a/b?c=d`)
    const post = await get(`app.${DOMAIN}`, {plain: true, method: 'POST', body: 'x'})
    assert.equal(post.status, 308)
    assert.equal(platform.opened.length, 0, 'a redirect never wakes an instance')
  })

  it('proxies plain HTTP when port 80 has only the http handler', async () => {
    const app = await backend('plain')
    platform.service(`plain.${DOMAIN}`, [{uuid: 'i-plain', backend: app.address}], {services: [{port: 80, destination_port: 8080, handlers: ['http']}]})
    const reply = await get(`plain.${DOMAIN}`, {plain: true, path: '/x'})
    assert.equal(reply.status, 200)
    assert.equal(reply.body, 'plain GET /x')
    assert.equal(app.seen.at(-1)!.headers['x-forwarded-proto'], 'http')
    // The same service has no 443: HTTPS there is not a service.
    assert.equal((await get(`plain.${DOMAIN}`)).status, 503)
  })
})

describe('Gateway WebSocket', () => {
  it('upgrades through the gateway and carries messages both ways', async () => {
    const server = http.createServer()
    const wss = new WebSocketServer({server})
    let upgradeHeaders: http.IncomingHttpHeaders = {}
    wss.on('connection', (socket, req) => {
      upgradeHeaders = req.headers
      socket.on('message', (data) => socket.send(`echo:${String(data)}`))
      socket.send('welcome')
    })
    const port = await listen(server)
    platform.service(`ws.${DOMAIN}`, [{uuid: 'i-ws', backend: {host: '127.0.0.1', port}}])
    const gw = gateway.ports()['443']
    // ws hands TLS options (servername) to tls.connect; its types list fewer.
    const options: ClientOptions & tls.ConnectionOptions = {ca: ca.certPem, servername: `ws.${DOMAIN}`, headers: {host: `ws.${DOMAIN}:${gw}`}}
    const client = new WebSocket(`wss://127.0.0.1:${gw}/chat`, options)
    try {
      const messages: string[] = []
      client.on('message', (data) => messages.push(String(data)))
      await once(client, 'open')
      await until(() => messages.includes('welcome'), 'welcome from the backend')
      client.send('ping')
      client.send('x'.repeat(200_000))
      await until(() => messages.length === 3, 'echoes')
      assert.equal(messages[1], 'echo:ping')
      assert.equal(messages[2], `echo:${'x'.repeat(200_000)}`)
      assert.equal(upgradeHeaders['x-forwarded-proto'], 'https')
      assert.equal(gateway.load('i-ws'), 1)
      client.close()
      await once(client, 'close')
      await until(() => platform.closes === 1 && gateway.load('i-ws') === 0, 'the upgraded connection to end')
    } finally {
      client.terminate()
      wss.close()
      server.closeAllConnections()
      server.close()
    }
  })
})

describe('Gateway raw TLS ports', () => {
  it('terminates TLS on another published port and passes half-close through', async () => {
    // The backend answers only after the client finished sending: that needs the half-close.
    const server = net.createServer({allowHalfOpen: true}, (socket) => {
      let data = ''
      socket.on('data', (chunk) => (data += String(chunk)))
      socket.on('end', () => socket.end(`got:${data}`))
    })
    const port = await listen(server)
    platform.service(`db.${DOMAIN}`, [{uuid: 'i-db', backend: {host: '127.0.0.1', port}}], {services: [{port: 6379, handlers: ['tls']}]})
    const local = await gateway.ensurePort(6379)
    assert.equal(await gateway.ensurePort(6379), local)
    assert.equal(gateway.ports()['6379'], local)
    try {
      // tls.connect passes allowHalfOpen to its socket; node's types omit it.
      const options: tls.ConnectionOptions & {allowHalfOpen: boolean} = {host: '127.0.0.1', port: local, servername: `db.${DOMAIN}`, ca: ca.certPem, allowHalfOpen: true}
      const client = tls.connect(options)
      await once(client, 'secureConnect')
      let reply = ''
      client.on('data', (chunk) => (reply += String(chunk)))
      client.write('hello ')
      client.end('world')
      await once(client, 'end')
      assert.equal(reply, 'got:hello world')
      client.destroy()
      assert.deepEqual(platform.opened, [{uuid: 'i-db', port: 6379, via: 'public'}])
      await until(() => platform.closes === 1, 'tracker.close')
    } finally {
      server.close()
    }
  })

  it('closes a raw TLS connection for an unknown service without sending anything', async () => {
    const local = await gateway.ensurePort(6380)
    const client = tls.connect({host: '127.0.0.1', port: local, servername: `nobody.${DOMAIN}`, ca: ca.certPem})
    let received = 0
    client.on('data', (chunk: Buffer) => (received += chunk.length))
    await once(client, 'close')
    assert.equal(received, 0)
  })

  it('falls back to a free port when the published one is privileged or taken', async () => {
    const squatter = net.createServer()
    const taken = await listen(squatter)
    try {
      const local = await gateway.ensurePort(taken)
      assert.notEqual(local, taken)
      const low = await gateway.ensurePort(22)
      assert.ok(low >= 1024)
      assert.equal(gateway.ports()['22'], low)
    } finally {
      squatter.close()
    }
  })
})

describe('Gateway load balancing', () => {
  it('spreads concurrent requests by least connections: three held requests land on three instances', async () => {
    const bs = [await backend('x'), await backend('y'), await backend('z')]
    for (const b of bs) b.hold = true
    platform.service(`lb.${DOMAIN}`, bs.map((b, i) => ({uuid: `lb-${i}`, backend: b.address})), {softLimit: 5})
    const pending = [get(`lb.${DOMAIN}`), get(`lb.${DOMAIN}`), get(`lb.${DOMAIN}`)]
    await until(() => bs.reduce((n, b) => n + b.held.length, 0) === 3, 'three held requests')
    assert.deepEqual(bs.map((b) => b.held.length), [1, 1, 1])
    for (const b of bs) {
      b.hold = false
      b.release()
    }
    const replies = await Promise.all(pending)
    assert.deepEqual(replies.map((r) => r.body).sort(), ['x', 'y', 'z'])
  })

  it('never exceeds the hard limit: the request over it gets 503', async () => {
    const b = await backend('hard')
    b.hold = true
    platform.service(`hard.${DOMAIN}`, [{uuid: 'i-hard', backend: b.address}], {softLimit: 1, hardLimit: 1})
    const first = get(`hard.${DOMAIN}`)
    await until(() => b.held.length === 1, 'the first request at the instance')
    const second = await get(`hard.${DOMAIN}`)
    assert.equal(second.status, 503)
    assert.match(second.body, /limit/)
    b.hold = false
    b.release()
    assert.equal((await first).status, 200)
    await until(() => gateway.load('i-hard') === 0, 'the first request to end')
    assert.equal((await get(`hard.${DOMAIN}`)).status, 200)
  })

  it('prefers a running instance under the soft limit, then wakes a standby one', async () => {
    const running = await backend('running')
    const standby = await backend('standby')
    running.hold = true
    platform.service(`soft.${DOMAIN}`, [
      {uuid: 'i-standby', state: 'standby', backend: standby.address},
      {uuid: 'i-running', backend: running.address},
    ], {softLimit: 1})
    const first = get(`soft.${DOMAIN}`)
    await until(() => running.held.length === 1, 'the first request at the running instance')
    assert.deepEqual(platform.opened.map((o) => o.uuid), ['i-running'])
    const second = await get(`soft.${DOMAIN}`)
    assert.equal(second.body, 'standby GET /')
    assert.deepEqual(platform.opened.map((o) => o.uuid), ['i-running', 'i-standby'])
    running.hold = false
    running.release()
    await first
  })
})

describe('Gateway shutdown', () => {
  it('close() ends keep-alive clients, requests in flight, raw and half-open connections without waiting for their deadlines', {timeout: 30_000}, async () => {
    // Deadlines far beyond the test's own timeout: close() may not wait for any of them.
    const minutes = 10 * 60_000
    const own = new Gateway({
      host: '127.0.0.1',
      domain: DOMAIN,
      ca,
      httpsPort: 0,
      httpPort: 0,
      routes: platform,
      tracker: platform,
      log: () => {},
      limits: {keepAliveTimeoutMs: minutes, headersTimeoutMs: minutes, requestTimeoutMs: minutes, handshakeTimeoutMs: minutes},
    })
    await own.start()
    const echo = net.createServer((socket) => socket.pipe(socket))
    const echoPort = await listen(echo)
    const app = await backend('app')
    platform.service(`app.${DOMAIN}`, [{uuid: 'i-app', backend: app.address}])
    platform.service(`tcp.${DOMAIN}`, [{uuid: 'i-tcp', backend: {host: '127.0.0.1', port: echoPort}}], {services: [{port: 7000, handlers: ['tls']}]})
    try {
      const agent = new https.Agent({keepAlive: true})
      const idle = await new Promise<net.Socket>((resolve, reject) => {
        const req = https.get({host: '127.0.0.1', port: own.ports()['443'], servername: `app.${DOMAIN}`, ca: ca.certPem, agent}, (res) => {
          const socket = res.socket
          res.resume()
          res.on('end', () => resolve(socket))
        })
        req.on('error', reject)
      })
      app.hold = true
      const held = new Promise<Error>((resolve) => {
        https.get({host: '127.0.0.1', port: own.ports()['443'], servername: `app.${DOMAIN}`, ca: ca.certPem, agent: false}).on('error', resolve)
      })
      await until(() => app.held.length === 1, 'a request in flight')
      const raw = tls.connect({host: '127.0.0.1', port: await own.ensurePort(7000), servername: `tcp.${DOMAIN}`, ca: ca.certPem})
      raw.write('ping')
      await once(raw, 'data')
      // Connected, no TLS handshake started, and a TLS connection with no request yet.
      const unshaken = net.connect(own.ports()['443']!, '127.0.0.1')
      await once(unshaken, 'connect')
      const silent = tls.connect({host: '127.0.0.1', port: own.ports()['443']!, servername: `app.${DOMAIN}`, ca: ca.certPem})
      await once(silent, 'secureConnect')
      const closes = [idle, raw, unshaken, silent].map((socket) => {
        socket.on('error', () => {})
        return once(socket, 'close')
      })
      await own.close()
      await Promise.all(closes)
      assert.match((await held).message, /socket hang up|ECONNRESET/)
      await until(() => platform.openCount() === 0, 'tracker.close for every connection')
      agent.destroy()
    } finally {
      echo.close()
    }
  })

  it('fails to start when a port is taken, without leaving the other one listening', async () => {
    const squatter = net.createServer()
    const taken = await listen(squatter)
    const probe = net.createServer()
    const httpsPort = await listen(probe)
    await new Promise<void>((resolve) => probe.close(() => resolve()))
    try {
      const own = new Gateway({host: '127.0.0.1', domain: DOMAIN, ca, httpsPort, httpPort: taken, routes: platform, tracker: platform, log: () => {}})
      await assert.rejects(own.start(), /EADDRINUSE/)
      // The HTTPS port is free again.
      const again = net.createServer()
      again.listen(httpsPort, '127.0.0.1')
      await once(again, 'listening')
      await new Promise<void>((resolve) => again.close(() => resolve()))
    } finally {
      squatter.close()
    }
  })
})
