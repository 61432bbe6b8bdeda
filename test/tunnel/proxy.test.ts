// Failure mode 28: the relay's WebSocket through an HTTP CONNECT proxy (HTTPS_PROXY/HTTP_PROXY),
// with a real CONNECT proxy and a real relay on loopback.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import tls from 'node:tls'
import {afterEach, describe, it} from 'node:test'

import {CertificateAuthority} from '../../src/platform/tls/index.js'
import {bypassesProxy, proxyFor} from '../../src/tunnel/client/connect-proxy.js'
import {TunnelClient} from '../../src/tunnel/index.js'
import {Fixtures, collect, connect} from './harness.js'

const fx = new Fixtures()
const savedEnv = {...process.env}
afterEach(async () => {
  for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy']) {
    if (savedEnv[name] === undefined) delete process.env[name]
    else process.env[name] = savedEnv[name]
  }
  await fx.closeAll()
})

/** A CONNECT proxy that sends every tunnel to 127.0.0.1 (the names it is asked for are recorded). */
async function connectProxy(answer?: string): Promise<{port: number; requests: http.IncomingMessage[]}> {
  const requests: http.IncomingMessage[] = []
  const server = http.createServer((_req, res) => res.writeHead(405).end())
  const sockets = new Set<net.Socket>()
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    requests.push(req)
    sockets.add(client)
    client.on('error', () => client.destroy())
    if (answer) return void client.end(answer)
    const port = Number(String(req.url).split(':').pop())
    const upstream = net.connect({host: '127.0.0.1', port}, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      if (head.length > 0) upstream.write(head)
      client.pipe(upstream).pipe(client)
    })
    sockets.add(upstream)
    upstream.on('error', () => client.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  fx.add(() => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy()
    server.close(() => resolve())
  }))
  return {port: (server.address() as net.AddressInfo).port, requests}
}

async function tunnelThrough(url: string, token: string, target: string, ca?: string): Promise<{client: TunnelClient; port: number}> {
  const client = new TunnelClient({
    endpoint: {url, token, ...(ca ? {ca} : {})},
    forwards: [{bind: '127.0.0.1', localPort: 0, target, label: target}],
    heartbeatMs: 10_000,
    maxBackoffMs: 200,
    log: () => undefined,
  })
  const [active] = await client.listen()
  fx.add(() => client.close(0))
  await client.connect(10_000)
  return {client, port: active!.port}
}

async function echoThrough(port: number, text: string): Promise<string> {
  const socket = await connect(port)
  const got = collect(socket)
  socket.end(text)
  return (await got).data.toString()
}

describe('relay connection through an HTTP CONNECT proxy', () => {
  it('picks the proxy from the environment, and never for loopback, *.localhost or NO_PROXY hosts', () => {
    const env = {HTTPS_PROXY: 'http://proxy.corp:3128', http_proxy: 'proxy.corp:8080', NO_PROXY: '.internal.corp,example.org:8443'}
    assert.equal(proxyFor(new URL('wss://relay.fra.unikraft.app/'), env)?.host, 'proxy.corp:3128')
    assert.equal(proxyFor(new URL('ws://relay.example.net/'), env)?.host, 'proxy.corp:8080')
    assert.equal(proxyFor(new URL('wss://x.local.localhost:7443/'), env), undefined)
    assert.equal(proxyFor(new URL('ws://127.0.0.1:9000/'), env), undefined)
    assert.equal(proxyFor(new URL('wss://a.b.internal.corp/'), env), undefined)
    assert.equal(proxyFor(new URL('wss://example.org:8443/'), env), undefined)
    assert.equal(proxyFor(new URL('wss://example.org/'), env)?.host, 'proxy.corp:3128')
    assert.equal(proxyFor(new URL('wss://relay.fra.unikraft.app/'), {}), undefined)
    assert.throws(() => proxyFor(new URL('wss://r.example/'), {HTTPS_PROXY: 'socks5://p:1080'}), /only http:\/\/ CONNECT proxies/)
    assert.ok(bypassesProxy('anything', '443', '*'))
  })

  it('carries the tunnel over CONNECT (ws), and the proxy never sees the token', async () => {
    const echo = await fx.echo()
    const relay = await fx.relay([`127.0.0.1:${echo.port}`])
    const proxy = await connectProxy()
    process.env.HTTP_PROXY = `http://127.0.0.1:${proxy.port}`
    const {port} = await tunnelThrough(`ws://relay.example.test:${relay.port}/`, relay.token, `127.0.0.1:${echo.port}`)
    assert.equal(await echoThrough(port, 'via the proxy'), 'via the proxy')
    assert.equal(proxy.requests.length, 1)
    assert.equal(proxy.requests[0]?.url, `relay.example.test:${relay.port}`)
    assert.equal(proxy.requests[0]?.headers.authorization, undefined)
    assert.ok(!JSON.stringify(proxy.requests[0]?.rawHeaders).includes(relay.token))
  })

  it('runs TLS to the relay inside the CONNECT tunnel (wss), verified against the relay name', async () => {
    const echo = await fx.echo()
    const relay = await fx.relay([`127.0.0.1:${echo.port}`])
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-proxy-'))
    fx.add(() => fs.rmSync(dir, {recursive: true, force: true}))
    const ca = await CertificateAuthority.loadOrCreate(dir, {domain: 'example.test'})
    const {cert, key} = await ca.issue(['relay.example.test'])
    // TLS in front of the relay, as the platform's gateway is.
    const front = tls.createServer({cert, key}, (socket) => {
      const inner = net.connect({host: '127.0.0.1', port: relay.port})
      socket.pipe(inner).pipe(socket)
      socket.on('error', () => inner.destroy())
      inner.on('error', () => socket.destroy())
    })
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve))
    fx.add(() => new Promise<void>((resolve) => front.close(() => resolve())))
    const frontPort = (front.address() as net.AddressInfo).port
    const proxy = await connectProxy()
    process.env.HTTPS_PROXY = `http://127.0.0.1:${proxy.port}`
    const {port} = await tunnelThrough(`wss://relay.example.test:${frontPort}/`, relay.token, `127.0.0.1:${echo.port}`, ca.certPem)
    assert.equal(await echoThrough(port, 'tls inside connect'), 'tls inside connect')
    assert.equal(proxy.requests[0]?.url, `relay.example.test:${frontPort}`)
  })

  it('says which proxy refused, and with what status', async () => {
    const proxy = await connectProxy('HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n')
    process.env.HTTP_PROXY = `http://127.0.0.1:${proxy.port}`
    const client = new TunnelClient({
      endpoint: {url: 'ws://relay.example.test:1/', token: 'x'},
      forwards: [],
      heartbeatMs: 10_000,
      log: () => undefined,
    })
    fx.add(() => client.close(0))
    await assert.rejects(client.connect(300), /proxy 127\.0\.0\.1:\d+ refused CONNECT relay\.example\.test:1: HTTP 407/)
  })
})
