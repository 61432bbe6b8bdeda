// Which certificate the gateway presents, in a whole platform (runPlatform in this process, real
// instances): an uploaded certificate and its chain for its domain, the one the platform CA issued
// for a custom domain given without one, the CA's wildcard leaf for the metro's names — also after a
// restart; and the CA's leaf when a user's pair cannot be loaded.
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import {once} from 'node:events'
import fs from 'node:fs'
import https from 'node:https'
import os from 'node:os'
import path from 'node:path'
import tls from 'node:tls'
import {after, before, describe, it} from 'node:test'

import {UkcClient, createCertificate, createInstance, getCertificates} from '../../src/api/index.js'
import {runPlatform, type RunningPlatform} from '../../src/platform/index.js'
import {type TestLeaf, TestPki} from './certificate-chains.js'
import {FQDN, GatewayFixture} from './gateway-fixture.js'

interface Presented {
  status: number
  body: string
  authorized: boolean
  /** The leaf, then the certificates the server sent after it (as node links them). */
  chain: tls.DetailedPeerCertificate[]
}

/** One HTTPS request through the gateway for `fqdn`, trusting only `ca`; what the server presented. */
function request(port: number, fqdn: string, ca: string): Promise<Presented> {
  return new Promise((resolve, reject) => {
    const req = https.get({host: '127.0.0.1', port, servername: fqdn, headers: {host: fqdn}, path: '/', ca, agent: false}, (res) => {
      const socket = res.socket as tls.TLSSocket
      const chain: tls.DetailedPeerCertificate[] = []
      for (let cert = socket.getPeerCertificate(true); cert?.raw && !chain.some((c) => c.fingerprint256 === cert.fingerprint256); cert = cert.issuerCertificate) chain.push(cert)
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({status: res.statusCode ?? 0, body, authorized: socket.authorized, chain}))
    })
    req.on('error', reject)
  })
}

/** The certificate presented for `fqdn`, without verifying it. */
async function presented(port: number, fqdn: string): Promise<tls.PeerCertificate> {
  const socket = tls.connect({host: '127.0.0.1', port, servername: fqdn, rejectUnauthorized: false})
  await once(socket, 'secureConnect')
  const certificate = socket.getPeerCertificate()
  socket.destroy()
  return certificate
}

describe('the gateway presents users’ certificates', () => {
  let dir: string
  let platform: RunningPlatform
  let client: UkcClient
  let pki: TestPki
  let shop: TestLeaf
  let platformCa: string
  const logs: string[] = []

  const start = async () => {
    platform = await runPlatform({dataDir: dir, apiPort: 0, gatewayPort: 0, users: ['alice'], log: (line) => logs.push(line), volumeBackend: 'directory'})
    platformCa = fs.readFileSync(platform.info.ca, 'utf8')
    client = new UkcClient({baseUrl: platform.info.url, token: platform.info.users[0].token, ca: platformCa})
  }
  const port = () => platform.gateway.ports()['443']!

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-gateway-certificates-'))
    fs.chmodSync(dir, 0o755)
    await start()
    pki = await TestPki.create()
    shop = await pki.leaf({cn: 'shop.example.test', names: ['shop.example.test']})
    assert.equal((await createCertificate(client, {name: 'shop', cn: 'shop.example.test', chain: shop.chain, pkey: shop.key})).items[0].status, 'success')
    const created = await createInstance(client, {
      image: 'hello',
      name: 'shop',
      autostart: true,
      wait_timeout_ms: 60_000,
      service_group: {name: 'shop', services: [{port: 443, destination_port: 8080}], domains: [{name: 'shop.example.test.', certificate: {name: 'shop'}}, {name: 'shop'}, {name: 'blog.example.test.'}]},
    })
    assert.equal(created.items[0].state, 'running')
  })
  after(async () => {
    await platform.close()
    fs.rmSync(dir, {recursive: true, force: true})
  })

  it('presents exactly the uploaded certificate for its domain, with its chain, to a client that trusts only the root', async () => {
    const reply = await request(port(), 'shop.example.test', pki.rootPem)
    assert.equal(reply.status, 200)
    assert.equal(reply.body, 'Hello from shop\n')
    assert.equal(reply.authorized, true, 'the intermediate was served: the client has only the root')
    assert.equal(reply.chain[0]!.fingerprint256, shop.fingerprint256)
    assert.equal(reply.chain[1]!.fingerprint256, new crypto.X509Certificate(pki.intermediatePem).fingerprint256)
  })

  it('presents the certificate the platform CA issued for a custom domain given without one: the API’s certificate object', async () => {
    const reply = await request(port(), 'blog.example.test', platformCa)
    assert.equal(reply.status, 200)
    const [object] = (await getCertificates(client)).items.filter((c) => c.common_name === 'blog.example.test')
    assert.match(String(object?.name), /^blog\.example\.test-[a-z0-9]{5}$/)
    assert.equal(reply.chain[0]!.serialNumber.replace(/^0+/, ''), object?.serial_number)
    assert.equal(reply.chain[0]!.subject.CN, 'blog.example.test')
  })

  it('still presents the platform CA’s wildcard leaf for the metro’s names', async () => {
    const reply = await request(port(), 'shop.local.localhost', platformCa)
    assert.equal(reply.status, 200)
    assert.equal(reply.chain[0]!.subject.CN, '*.local.localhost')
    await assert.rejects(request(port(), 'shop.local.localhost', pki.rootPem), /self-signed|unable to (get|verify)/)
  })

  it('presents the uploaded certificate after a restart of the platform', async () => {
    await platform.close()
    await start()
    assert.equal((await presented(port(), 'shop.example.test')).fingerprint256, shop.fingerprint256)
  })
})

describe('a user certificate the gateway cannot load', () => {
  const fixture = new GatewayFixture()
  before(() => fixture.start({}, (fqdn) => (fqdn === FQDN ? {cert: 'not a certificate', key: 'not a key'} : undefined)))
  after(() => fixture.close())

  it('is logged, and the platform CA’s leaf stands in', async () => {
    const socket = await fixture.connect()
    assert.equal(socket.authorized, true)
    assert.equal(socket.getPeerCertificate().subject.CN, `*.local.localhost`)
    socket.destroy()
    assert.ok(fixture.logs.some((line) => line.startsWith(`gateway: the certificate for ${FQDN} is unusable`)))
  })
})
