// Failure mode 28: the relay's WebSocket through an HTTP CONNECT proxy (HTTPS_PROXY/HTTP_PROXY),
// with a real CONNECT proxy and a real relay on loopback. The relay is named relay.example.test:
// loopback is never proxied, and the proxy sends every tunnel to 127.0.0.1 whatever name it is asked
// for. Which proxy applies to which host (the rule API calls share) is tested in test/api/client.test.ts.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import tls from 'node:tls'
import {afterEach, describe, it} from 'node:test'

import {CertificateAuthority} from '../../src/platform/tls/index.js'
import {type ConnectProxy, startConnectProxy} from '../connect-proxy.js'
import {Fixtures, TunnelClient, collect, connect} from './harness.js'

const fx = new Fixtures()
const savedEnv = {...process.env}
afterEach(async () => {
  for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy']) {
    if (savedEnv[name] === undefined) delete process.env[name]
    else process.env[name] = savedEnv[name]
  }
  await fx.closeAll()
})

async function connectProxy(answer?: string): Promise<ConnectProxy> {
  const proxy = await startConnectProxy(answer)
  fx.add(() => proxy.close())
  return proxy
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
