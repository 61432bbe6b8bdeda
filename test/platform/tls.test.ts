import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import tls from 'node:tls'
import {after, describe, it} from 'node:test'
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
  serve: {leaf?: {cert: string; key: string}; sni?: (name: string) => tls.SecureContext},
  connect: {servername?: string; host?: string},
): Promise<tls.PeerCertificate> {
  const server = tls.createServer({
    ...serve.leaf,
    SNICallback: serve.sni ? (name, cb) => cb(null, serve.sni!(name)) : undefined,
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
    const peer = await handshake(first, {leaf: second.issue(['localhost'])}, {servername: 'localhost'})
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
    const leaf = ca.issue(['127.0.0.1', '::1', 'localhost'])
    assert.equal(ca.issue(['127.0.0.1', '::1', 'localhost']), leaf, 'cached')
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
    assert.equal(ca.secureContext('APP.example.test'), ca.secureContext('app.example.test'))
  })

  it('rejects a leaf when the client trusts another CA', async () => {
    const ca = await CertificateAuthority.loadOrCreate(tempDir())
    const stranger = await CertificateAuthority.loadOrCreate(tempDir())
    await assert.rejects(
      handshake(stranger, {leaf: ca.issue(['localhost'])}, {servername: 'localhost'}),
      /self.signed|unable to verify|certificate/i,
    )
  })

  it('produces certificates openssl verifies against the CA', async () => {
    const dir = tempDir()
    const ca = await CertificateAuthority.loadOrCreate(dir, {domain: 'local.localhost'})
    const leafPath = path.join(dir, 'leaf.pem')
    fs.writeFileSync(leafPath, ca.issue(['*.local.localhost', 'local.localhost']).cert)
    const out = execFileSync('openssl', ['verify', '-CAfile', ca.certPath, '-purpose', 'sslserver', leafPath], {encoding: 'utf8'})
    assert.match(out, /OK/)
  })
})
