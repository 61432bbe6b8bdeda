import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import type {AddressInfo} from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {after, afterEach, before, describe, it} from 'node:test'

import {NetworkError, UkcClient, UsageError, createInstance, getInstances, proxyFor} from '../../src/api/index.js'
import {CertificateAuthority} from '../../src/platform/tls/index.js'
import {type ConnectProxy, startConnectProxy} from '../connect-proxy.js'
import {nock} from '../setup.js'

const TOKEN = Buffer.from('robot$alice.users.kraftcloud:s3cret').toString('base64')
const client = (baseUrl = 'http://api.test/v1', timeoutMs?: number) => new UkcClient({baseUrl, token: TOKEN, timeoutMs})
const ok = (items: unknown[]) => ({status: 'success', data: {instances: items}})

describe('UkcClient', () => {
  afterEach(() => nock.cleanAll())

  it('sends the token as Bearer with JSON headers and a JSON body on GET', async () => {
    const scope = nock('http://api.test', {reqheaders: {authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', accept: 'application/json'}})
      .get('/v1/instances', [{name: 'web'}])
      .reply(200, ok([{status: 'success', uuid: 'u1', name: 'web'}]))
    const result = await getInstances(client(), ['web'])
    assert.equal(result.items[0].uuid, 'u1')
    assert.ok(scope.isDone())
  })

  it('retries a GET answered 503 and then succeeds', async () => {
    const scope = nock('http://api.test')
      .get('/v1/instances')
      .reply(503, {status: 'error', message: 'busy'})
      .get('/v1/instances')
      .reply(200, ok([{status: 'success', uuid: 'u1', name: 'web'}]))
    const result = await getInstances(client())
    assert.equal(result.items.length, 1)
    assert.ok(scope.isDone())
  })

  it('never retries a POST', async () => {
    const scope = nock('http://api.test').post('/v1/instances').once().reply(503, {status: 'error', message: 'busy'})
    await assert.rejects(createInstance(client(), {image: 'nginx:latest'}), (error: unknown) => error instanceof NetworkError && error.exitCode === 7)
    assert.ok(scope.isDone())
    assert.equal(nock.pendingMocks().length, 0)
  })

  it('turns a connection refused into a network error (exit 7)', async () => {
    const server = http.createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const {port} = server.address() as AddressInfo
    await new Promise<void>((resolve) => server.close(() => resolve()))
    await assert.rejects(getInstances(new UkcClient({baseUrl: `http://127.0.0.1:${port}/v1`, token: TOKEN, attempts: 1})), (error: unknown) => {
      assert.ok(error instanceof NetworkError)
      assert.equal(error.exitCode, 7)
      assert.match(error.message, /ECONNREFUSED/)
      return true
    })
  })

  it('turns a timeout into a network error (exit 7)', async () => {
    const pending: http.ServerResponse[] = []
    const server = http.createServer((_req, res) => pending.push(res))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const {port} = server.address() as AddressInfo
    try {
      const slow = new UkcClient({baseUrl: `http://127.0.0.1:${port}/v1`, token: TOKEN, timeoutMs: 100, attempts: 1})
      await assert.rejects(getInstances(slow), (error: unknown) => {
        assert.ok(error instanceof NetworkError)
        assert.equal(error.exitCode, 7)
        assert.match(error.message, /timed out|ETIMEDOUT/)
        return true
      })
    } finally {
      for (const res of pending) res.destroy()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})

const PROXY_VARIABLES = ['HTTPS_PROXY', 'HTTP_PROXY', 'ALL_PROXY', 'NO_PROXY', 'https_proxy', 'http_proxy', 'all_proxy', 'no_proxy']

describe('the proxy for a connection (API calls and the tunnel alike)', () => {
  const saved = Object.fromEntries(PROXY_VARIABLES.map((name) => [name, process.env[name]]))
  const setEnv = (values: Record<string, string>): void => {
    for (const name of PROXY_VARIABLES) delete process.env[name]
    Object.assign(process.env, values)
  }
  afterEach(() => {
    for (const name of PROXY_VARIABLES) {
      if (saved[name] === undefined) delete process.env[name]
      else process.env[name] = saved[name]
    }
  })

  it('takes HTTPS_PROXY for https and wss, HTTP_PROXY for http and ws, in upper or lower case (lower wins)', () => {
    setEnv({HTTPS_PROXY: 'http://proxy.corp:3128', http_proxy: 'http://proxy.corp:8080'})
    assert.equal(proxyFor(new URL('https://api.fra.unikraft.cloud/v1/instances'))?.host, 'proxy.corp:3128')
    assert.equal(proxyFor(new URL('wss://relay.fra.unikraft.app/'))?.host, 'proxy.corp:3128')
    assert.equal(proxyFor(new URL('http://api.example.net/v1'))?.host, 'proxy.corp:8080')
    assert.equal(proxyFor(new URL('ws://relay.example.net/'))?.host, 'proxy.corp:8080')
    setEnv({https_proxy: 'http://lower.corp:1', HTTPS_PROXY: 'http://upper.corp:2'})
    assert.equal(proxyFor(new URL('https://api.fra.unikraft.cloud/v1'))?.host, 'lower.corp:1')
    setEnv({})
    assert.equal(proxyFor(new URL('https://api.fra.unikraft.cloud/v1')), undefined)
  })

  it('never for loopback or *.localhost (the local platform), nor for hosts NO_PROXY names', () => {
    setEnv({HTTPS_PROXY: 'http://proxy.corp:3128', HTTP_PROXY: 'http://proxy.corp:3128', NO_PROXY: '.internal.corp,example.org:8443'})
    for (const url of ['https://127.0.0.1:7780/v1', 'https://[::1]:7780/v1', 'wss://relay-x.local.localhost:7443/', 'http://localhost:8080/v1', 'ws://127.16.0.5:9000/']) {
      assert.equal(proxyFor(new URL(url)), undefined, url)
    }
    assert.equal(proxyFor(new URL('https://a.b.internal.corp/v1')), undefined)
    assert.equal(proxyFor(new URL('wss://example.org:8443/')), undefined)
    assert.equal(proxyFor(new URL('wss://example.org/'))?.host, 'proxy.corp:3128', 'NO_PROXY with a port matches that port only')
    setEnv({HTTPS_PROXY: 'http://proxy.corp:3128', no_proxy: '*'})
    assert.equal(proxyFor(new URL('https://api.fra.unikraft.cloud/v1')), undefined)
  })

  it('refuses a proxy that is not HTTP(S) with a usage error', () => {
    setEnv({HTTPS_PROXY: 'socks5://proxy.corp:1080'})
    assert.throws(() => proxyFor(new URL('https://api.fra.unikraft.cloud/v1')), (error: Error) => error instanceof UsageError && /only HTTP CONNECT proxies/.test(error.message))
  })
})

describe('ukc through a real CONNECT proxy', () => {
  // The API is https://api.example.test:<port>: a name, not loopback (loopback is never proxied). Only
  // the proxy ever "resolves" it (to 127.0.0.1); ukc trusts the test CA through NODE_EXTRA_CA_CERTS.
  const ROOT = path.resolve(import.meta.dirname, '..', '..')
  const TOKEN = Buffer.from('robot$alice.users.kraftcloud:s3cret').toString('base64')
  let dir: string
  let server: https.Server
  let apiPort = 0
  const seen: Array<{url?: string; authorization?: string}> = []
  const proxies: ConnectProxy[] = []

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-api-proxy-'))
    const ca = await CertificateAuthority.loadOrCreate(dir, {domain: 'example.test'})
    fs.writeFileSync(path.join(dir, 'ca.pem'), ca.certPem)
    const {cert, key} = await ca.issue(['api.example.test'])
    server = https.createServer({cert, key}, (req, res) => {
      seen.push({url: req.url, authorization: req.headers.authorization})
      res.writeHead(200, {'content-type': 'application/json'}).end(JSON.stringify({status: 'success', data: {instances: [{status: 'success', uuid: '5e0ad7b8-5c3e-4d7c-9e0f-2f3a4b5c6d7e', name: 'behind-the-proxy', state: 'running', created_at: new Date().toISOString()}]}}))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    apiPort = (server.address() as AddressInfo).port
  })

  after(async () => {
    for (const proxy of proxies) await proxy.close()
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
    fs.rmSync(dir, {recursive: true, force: true})
  })

  function ukc(args: string[], proxyPort: number): Promise<{code: number; stdout: string; stderr: string}> {
    const env: NodeJS.ProcessEnv = {...process.env}
    for (const name of [...PROXY_VARIABLES, 'UKC_METRO', 'UKC_PROFILE', 'NODE_TEST_CONTEXT']) delete env[name]
    Object.assign(env, {
      HTTPS_PROXY: `http://127.0.0.1:${proxyPort}`,
      NODE_EXTRA_CA_CERTS: path.join(dir, 'ca.pem'),
      UKC_TOKEN: TOKEN,
      UKC_CONFIG_DIR: path.join(dir, 'config'),
      UKC_LOCAL_DIR: path.join(dir, 'local'),
      NO_COLOR: '1',
    })
    const bin = path.join(ROOT, 'test', 'commands', 'ukc-from-src.ts')
    return new Promise((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', bin, ...args, '--metro', `https://api.example.test:${apiPort}/v1`], {env, timeout: 120_000}, (error, stdout, stderr) => {
        resolve({code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr})
      })
    })
  }

  it('`ukc instance list` reaches the API through the proxy, with TLS to the API inside the tunnel', async () => {
    const proxy = await startConnectProxy()
    proxies.push(proxy)
    const {code, stdout, stderr} = await ukc(['instance', 'list', '--json'], proxy.port)
    assert.equal(code, 0, stderr)
    assert.deepEqual((JSON.parse(stdout) as Array<{name: string}>).map((i) => i.name), ['behind-the-proxy'])
    assert.deepEqual(proxy.requests.map((r) => r.url), [`api.example.test:${apiPort}`])
    // The token travels inside TLS to the API: the proxy never sees it.
    assert.equal(proxy.requests[0]?.headers.authorization, undefined)
    assert.ok(!JSON.stringify(proxy.requests[0]?.rawHeaders).includes(TOKEN))
    assert.equal(seen.at(-1)?.authorization, `Bearer ${TOKEN}`)
  })

  it('a proxy that refuses CONNECT is named, with its status, and the exit code is 7', async () => {
    const proxy = await startConnectProxy('HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n')
    proxies.push(proxy)
    const before = seen.length
    const {code, stderr, stdout} = await ukc(['instance', 'list'], proxy.port)
    assert.equal(code, 7, stderr)
    assert.equal(stdout, '')
    assert.match(stderr, new RegExp(`Error: could not reach the API at https://api\\.example\\.test:${apiPort}/v1/instances: the proxy 127\\.0\\.0\\.1:${proxy.port} refused CONNECT api\\.example\\.test:${apiPort}: HTTP 407 Proxy Authentication Required`))
    assert.match(stderr, /Try: check HTTPS_PROXY/)
    assert.equal(seen.length, before, 'nothing reached the API')
  })
})
