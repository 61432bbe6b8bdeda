import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import tls from 'node:tls'
import {after, describe, it, mock} from 'node:test'
import {CertificateAuthority} from '../../src/platform/tls/index.js'

const dirs: string[] = []
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-tls-'))
  dirs.push(dir)
  return dir
}
after(() => {
  for (const dir of dirs) fs.rmSync(dir, {recursive: true, force: true})
})

/** Serves `context` on loopback and connects trusting only the CA; resolves with the verified peer cert. */
async function handshake(
  ca: CertificateAuthority,
  serve: {leaf?: {cert: string; key: string}; sni?: (name: string) => Promise<tls.SecureContext>},
  connect: {servername?: string; host?: string},
): Promise<tls.PeerCertificate> {
  const server = tls.createServer({
    ...serve.leaf,
    SNICallback: serve.sni ? (name, cb) => void serve.sni!(name).then((context) => cb(null, context), cb) : undefined,
  })
  server.on('secureConnection', (socket) => socket.end('hello'))
  await new Promise<void>((resolve) => server.listen(0, connect.host ?? '127.0.0.1', resolve))
  const {port} = server.address() as {port: number}
  try {
    return await new Promise<tls.PeerCertificate>((resolve, reject) => {
      const socket = tls.connect({host: connect.host ?? '127.0.0.1', port, ca: ca.certPem, servername: connect.servername}, () => {
        const peer = socket.getPeerCertificate()
        socket.on('data', () => {})
        socket.on('end', () => resolve(peer))
      })
      socket.on('error', reject)
    })
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

describe('CertificateAuthority', () => {
  it('creates the CA once, with a private key file, and reuses it after a restart', async () => {
    const dir = path.join(tempDir(), 'nested')
    const first = await CertificateAuthority.loadOrCreate(dir)
    assert.equal(first.certPath, path.join(dir, 'ca.pem'))
    assert.equal(fs.statSync(path.join(dir, 'ca-key.pem')).mode & 0o777, 0o600)
    assert.equal(fs.statSync(path.join(dir, 'ca.pem')).mode & 0o777, 0o644)
    const x509 = new crypto.X509Certificate(first.certPem)
    assert.ok(x509.ca)
    assert.equal(x509.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1')

    const second = await CertificateAuthority.loadOrCreate(dir)
    assert.equal(second.certPem, first.certPem)
    // A leaf from the restarted CA verifies against the CA the user trusted the first time.
    const peer = await handshake(first, {leaf: await second.issue(['localhost'])}, {servername: 'localhost'})
    assert.equal(peer.subject.CN, 'localhost')
  })

  it('refuses a CA whose key does not match instead of silently replacing it', async () => {
    const dir = tempDir()
    await CertificateAuthority.loadOrCreate(dir)
    const other = crypto.generateKeyPairSync('ec', {namedCurve: 'P-256'}).privateKey
    fs.writeFileSync(path.join(dir, 'ca-key.pem'), other.export({type: 'pkcs8', format: 'pem'}))
    await assert.rejects(CertificateAuthority.loadOrCreate(dir), /unusable.*remove ca.pem/)
  })

  it('issues an API leaf for 127.0.0.1, ::1 and localhost that Node verifies with only the CA', async () => {
    const ca = await CertificateAuthority.loadOrCreate(tempDir())
    const leaf = await ca.issue(['127.0.0.1', '::1', 'localhost'])
    assert.equal(await ca.issue(['127.0.0.1', '::1', 'localhost']), leaf, 'cached')
    await handshake(ca, {leaf}, {host: '127.0.0.1'})
    await handshake(ca, {leaf}, {servername: 'localhost'})
    const san = new crypto.X509Certificate(leaf.cert).subjectAltName ?? ''
    assert.match(san, /IP Address:127\.0\.0\.1/)
    assert.match(san, /IP Address:0:0:0:0:0:0:0:1/)
    assert.match(san, /DNS:localhost/)
  })

  it('serves the metro wildcard and a leaf per custom FQDN through SNI', async () => {
    const ca = await CertificateAuthority.loadOrCreate(tempDir(), {domain: 'local.localhost'})
    const sni = (name: string) => ca.secureContext(name)
    const a = await handshake(ca, {sni}, {servername: 'my-svc.local.localhost'})
    const b = await handshake(ca, {sni}, {servername: 'other.local.localhost'})
    assert.equal(a.fingerprint256, b.fingerprint256, 'one wildcard leaf for the metro domain')
    assert.match(a.subjectaltname ?? '', /DNS:\*\.local\.localhost/)
    await handshake(ca, {sni}, {servername: 'local.localhost'})
    const custom = await handshake(ca, {sni}, {servername: 'app.example.test'})
    assert.equal(custom.subjectaltname, 'DNS:app.example.test')
    assert.equal(await ca.secureContext('APP.example.test'), await ca.secureContext('app.example.test'))
  })

  it('rejects a leaf when the client trusts another CA', async () => {
    const ca = await CertificateAuthority.loadOrCreate(tempDir())
    const stranger = await CertificateAuthority.loadOrCreate(tempDir())
    await assert.rejects(
      handshake(stranger, {leaf: await ca.issue(['localhost'])}, {servername: 'localhost'}),
      /self.signed|unable to verify|certificate/i,
    )
  })

  it('produces certificates openssl verifies against the CA', async () => {
    const dir = tempDir()
    const ca = await CertificateAuthority.loadOrCreate(dir, {domain: 'local.localhost'})
    const leafPath = path.join(dir, 'leaf.pem')
    fs.writeFileSync(leafPath, (await ca.issue(['*.local.localhost', 'local.localhost'])).cert)
    const out = execFileSync('openssl', ['verify', '-CAfile', ca.certPath, '-purpose', 'sslserver', leafPath], {encoding: 'utf8'})
    assert.match(out, /OK/)
  })

  it('issues a name once however many handshakes ask at the same time, then answers without waiting', async () => {
    const ca = await CertificateAuthority.loadOrCreate(tempDir(), {domain: 'local.localhost'})
    assert.equal(ca.cachedContext('shop.example.test'), undefined, 'nothing issued yet')
    const contexts = await Promise.all(Array.from({length: 5}, () => ca.secureContext('shop.example.test')))
    assert.equal(new Set(contexts).size, 1, 'one leaf for concurrent first handshakes')
    assert.equal(ca.cachedContext('SHOP.example.test'), contexts[0])
    const [a, b] = await Promise.all([ca.issue(['x.example.test']), ca.issue(['x.example.test'])])
    assert.equal(a, b)
  })

  it('keeps serving a leaf due for renewal while its successor is issued, then serves the new one', async () => {
    const dir = tempDir()
    const ca = await CertificateAuthority.loadOrCreate(dir, {domain: 'local.localhost'})
    const old = await ca.secureContext('app.local.localhost')
    const oldLeaf = await ca.issue(['*.local.localhost', 'local.localhost'])
    mock.timers.enable({apis: ['Date'], now: Date.now() + 360 * 24 * 3_600_000})
    try {
      assert.equal(ca.cachedContext('app.local.localhost'), old, 'the due leaf answers at once')
      // The renewal runs on WebCrypto (no timers): poll it with setImmediate, bounded by a count.
      let renewed: tls.SecureContext | undefined
      for (let i = 0; i < 100_000 && (renewed = ca.cachedContext('app.local.localhost')) === old; i++) await new Promise(setImmediate)
      assert.notEqual(renewed, old, 'a new leaf replaced the due one')
      const fresh = await ca.issue(['*.local.localhost', 'local.localhost'])
      assert.notEqual(fresh.cert, oldLeaf.cert)
      const notAfter = new Date(new crypto.X509Certificate(fresh.cert).validTo).getTime()
      assert.ok(notAfter > Date.now() + 300 * 24 * 3_600_000, 'valid a year from the (mocked) now')
    } finally {
      mock.timers.reset()
    }
  })

  it('keeps a CA created by an earlier version: it loads, and its leaves verify in node and openssl', async () => {
    const dir = tempDir()
    fs.writeFileSync(path.join(dir, 'ca.pem'), `${OLD_CA_CERT}\n`, {mode: 0o644})
    fs.writeFileSync(path.join(dir, 'ca-key.pem'), `${OLD_CA_KEY}\n`, {mode: 0o600})
    const ca = await CertificateAuthority.loadOrCreate(dir, {domain: 'local.localhost'})
    assert.equal(ca.certPem.trim(), OLD_CA_CERT, 'the same CA, not a new one')
    const peer = await handshake(ca, {sni: (name) => ca.secureContext(name)}, {servername: 'web.local.localhost'})
    assert.match(peer.subjectaltname ?? '', /DNS:\*\.local\.localhost/)
    const leafPath = path.join(dir, 'leaf.pem')
    fs.writeFileSync(leafPath, (await ca.issue(['api.example.test'])).cert)
    const out = execFileSync('openssl', ['verify', '-CAfile', ca.certPath, '-purpose', 'sslserver', leafPath], {encoding: 'utf8'})
    assert.match(out, /OK/)
  })
})

/** A CA pair written by ukc before certificates went through @peculiar/x509 (ASN.1 built by hand). */
const OLD_CA_CERT = `-----BEGIN CERTIFICATE-----
MIIB8DCCAZagAwIBAgIQTZWjzOICJKML2EtdIw90jjAKBggqhkjOPQQDAjBGMRsw
GQYDVQQKDBJ1a2MgbG9jYWwgcGxhdGZvcm0xJzAlBgNVBAMMHnVrYyBsb2NhbCBw
bGF0Zm9ybSBDQSAzMjM4ODI0YzAeFw0yNjExMzAwMDM5MjdaFw0zNjExMjcwMTM5
MjdaMEYxGzAZBgNVBAoMEnVrYyBsb2NhbCBwbGF0Zm9ybTEnMCUGA1UEAwwedWtj
IGxvY2FsIHBsYXRmb3JtIENBIDMyMzg4MjRjMFkwEwYHKoZIzj0CAQYIKoZIzj0D
AQcDQgAEkErvX+cfznD8tlz1LLiR67SUnRcTluD1HtPkkT9vVzQsyiPnelx5JGIu
f8UCJN9dc0k+8YgjAV9bRPQEtvXZOKNmMGQwEgYDVR0TAQH/BAgwBgEB/wIBADAO
BgNVHQ8BAf8EBAMCAYYwHQYDVR0OBBYEFJizmpGJR9QXGWd8JvGdc1W8FjntMB8G
A1UdIwQYMBaAFJizmpGJR9QXGWd8JvGdc1W8FjntMAoGCCqGSM49BAMCA0gAMEUC
IQDJ88u3w7kt34atSlX6VIrT8A6o8HhVnDzTX+hh7qbxDgIgT6nEGhrab/TcJbCe
EzyFNetZ0SuEfoNsoocM2Vsgc6c=
-----END CERTIFICATE-----`
const OLD_CA_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg0T93X+YRgYoblO6S
ShI9R9YzdQ0v3DHCb0rhpeO1OIihRANCAASQSu9f5x/OcPy2XPUsuJHrtJSdFxOW
4PUe0+SRP29XNCzKI+d6XHkkYi5/xQIk311zST7xiCMBX1tE9AS29dk4
-----END PRIVATE KEY-----`
