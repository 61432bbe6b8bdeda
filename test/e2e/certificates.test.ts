// Certificates end to end: the real `ukc` binary against the embedded platform. A user uploads a
// certificate for their domain, publishes a service on it, and a client that trusts only the user's
// own root gets exactly that certificate through the gateway; a certificate in use cannot be removed
// (exit 5); mistakes are one line with the documented exit code, and the key is never printed.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import https from 'node:https'
import path from 'node:path'
import {after, before, describe, it} from 'node:test'
import type tls from 'node:tls'

import type {Certificate, Instance, ServiceGroup} from '../../src/api/types.js'
import {type TestLeaf, TestPki} from '../platform/certificate-chains.js'
import {Cli, type Started, buildIfStale} from './platform-harness.js'

/** One HTTPS request through the gateway for `fqdn`, trusting only `ca`: status, body, presented leaf. */
function viaGateway(port: number, fqdn: string, ca: string): Promise<{status: number; body: string; fingerprint256: string}> {
  return new Promise((resolve, reject) => {
    const req = https.get({host: '127.0.0.1', port, servername: fqdn, headers: {host: fqdn}, ca, agent: false, timeout: 30_000}, (res) => {
      const {fingerprint256} = (res.socket as tls.TLSSocket).getPeerCertificate()
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({status: res.statusCode ?? 0, body, fingerprint256}))
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', reject)
  })
}

describe('certificates on the embedded platform, end to end', {timeout: 600_000}, () => {
  const cli = new Cli()
  let platform: Started
  let shop: TestLeaf
  let pki: TestPki
  const file = (name: string, content: string) => {
    const full = path.join(cli.dir, name)
    fs.writeFileSync(full, content, {mode: 0o600})
    return full
  }

  before(async () => {
    await buildIfStale()
    platform = await cli.start()
    pki = await TestPki.create()
    shop = await pki.leaf({cn: 'shop.example.test', names: ['shop.example.test', 'www.shop.example.test']})
    file('chain.pem', shop.chain)
    file('key.pem', shop.key)
  })
  after(() => cli.cleanup())

  it('uploads a certificate, serves a service with it, and refuses to remove it while it is in use (exit 5)', async () => {
    const create = await cli.run(['cert', 'create', '--name', 'shop', '--cn', 'shop.example.test', '--chain', path.join(cli.dir, 'chain.pem'), '--pkey', path.join(cli.dir, 'key.pem'), '--json'], {as: 'alice'})
    assert.equal(create.code, 0, create.stderr)
    assert.ok(!`${create.stdout}${create.stderr}`.includes('PRIVATE KEY'), 'the key is never printed')
    const [uploaded] = JSON.parse(create.stdout) as Certificate[]
    assert.deepEqual([uploaded?.name, uploaded?.common_name, uploaded?.state, uploaded?.serial_number], ['shop', 'shop.example.test', 'valid', shop.serialNumber])
    const list = await cli.run(['cert', 'list'], {as: 'alice'})
    assert.match(list.stdout, /shop\s+valid\s+shop\.example\.test/)

    const [service] = await cli.json<ServiceGroup[]>(['service', 'create', '--name', 'shop', '--domain', 'shop.example.test', '--certificate', 'shop', '443:8080'], {as: 'alice'})
    assert.deepEqual(service?.domains?.map((d) => [d.fqdn, d.certificate?.name]), [['shop.example.test', 'shop']])
    const [instance] = await cli.json<Instance[]>(['instance', 'create', '--name', 'web', '--service', 'shop', '--start', '--wait', 'hello'], {as: 'alice', timeoutMs: 150_000})
    assert.equal(instance?.state, 'running')

    const reply = await viaGateway(platform.gateway.ports['443']!, 'shop.example.test', pki.rootPem)
    assert.deepEqual(reply, {status: 200, body: 'Hello from web\n', fingerprint256: shop.fingerprint256})

    const remove = await cli.run(['cert', 'remove', 'shop'], {as: 'alice'})
    assert.equal(remove.code, 5, remove.stderr)
    assert.match(remove.stderr, /Certificate 'shop' is used by service 'shop'/)
    const [used] = await cli.json<Certificate[]>(['cert', 'get', 'shop'], {as: 'alice'})
    assert.deepEqual(used?.service_groups?.map((s) => s.name), ['shop'])
  })

  it('says in one line what is wrong with a certificate, with the documented exit code', async () => {
    const other = await pki.leaf({cn: 'shop.example.test', names: ['shop.example.test']})
    const wrongKey = await cli.run(['cert', 'create', '--cn', 'shop.example.test', '--chain', path.join(cli.dir, 'chain.pem'), '--pkey', file('other-key.pem', other.key)], {as: 'alice'})
    assert.equal(wrongKey.code, 2)
    assert.match(wrongKey.stderr, /The private key does not match the certificate/)
    assert.ok(!wrongKey.stderr.includes('PRIVATE KEY') && !/\n\s+at /.test(wrongKey.stderr), 'no key, no stack trace')

    const notFqdn = await cli.run(['cert', 'create', '--cn', 'shop', '--chain', path.join(cli.dir, 'chain.pem'), '--pkey', path.join(cli.dir, 'key.pem')], {as: 'alice'})
    assert.equal(notFqdn.code, 2)
    assert.match(notFqdn.stderr, /The certificate CN must be a fully-qualified domain name/)

    const notCovered = await cli.run(['service', 'create', '--domain', 'blog.example.test', '--certificate', 'shop', '443:8080'], {as: 'alice'})
    assert.equal(notCovered.code, 2)
    assert.match(notCovered.stderr, /Certificate 'shop' \(CN shop\.example\.test\) is not valid for domain 'blog\.example\.test'/)

    const bobs = await cli.run(['service', 'create', '--domain', 'bob.example.test', '--certificate', 'shop', '443:8080'], {as: 'bob'})
    assert.equal(bobs.code, 4, 'another user’s certificate does not exist for bob')
  })

  it('removes the certificate once no service uses it', async () => {
    assert.equal((await cli.run(['instance', 'remove', 'web'], {as: 'alice'})).code, 0)
    assert.equal((await cli.run(['service', 'remove', 'shop'], {as: 'alice'})).code, 0)
    const remove = await cli.run(['cert', 'remove', 'shop'], {as: 'alice'})
    assert.equal(remove.code, 0, remove.stderr)
    assert.equal((await cli.run(['cert', 'get', 'shop'], {as: 'alice'})).code, 4)
  })
})
