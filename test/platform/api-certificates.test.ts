// The certificate endpoints and certificates on services' domains, against the API fixture (real
// store, real platform CA, fake instances): each rule and each error a user can run into.
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, it} from 'node:test'

import '../setup.js'
import {CERTIFICATES_DIR, STATE_FILE, Store} from '../../src/platform/store/index.js'
import {ApiFixture, type Reply} from './api-fixture.js'
import {type TestLeaf, TestPki} from './certificate-chains.js'

type Item = Record<string, unknown>

function items(reply: Reply, key = 'certificates'): Item[] {
  return reply.body.data?.[key] ?? []
}

function first(reply: Reply, key = 'certificates'): Item {
  return items(reply, key)[0] ?? {}
}

const HOUR = 3_600_000

describe('platform API v1: certificates', () => {
  const api = new ApiFixture()
  let pki: TestPki
  /** CN shop.example.test, SAN shop.example.test: the upload most tests use. */
  let shop: TestLeaf

  before(async () => {
    await api.start(['alice', 'bob', 'quota'])
    pki = await TestPki.create()
    shop = await pki.leaf({cn: 'shop.example.test', names: ['shop.example.test']})
  })
  after(() => api.close())

  const upload = (body: unknown, as = 'alice') => api.request('POST', '/certificates', {as, body})
  const get = async (name: string, as = 'alice') => first(await api.request('GET', '/certificates', {as, body: [{name}]}))
  const service = (body: Item, as = 'alice') => api.request('POST', '/services', {as, body: {services: [{port: 443, destination_port: 8080}], ...body}})
  const domainsOf = (reply: Reply) => first(reply, 'service_groups').domains as Array<{fqdn: string; certificate?: {uuid: string; name: string; state: string}}>

  describe('upload, get, delete', () => {
    it('uploads a chain and key and reports what the certificate says, never the key', async () => {
      const created = await upload({name: 'shop', cn: 'shop.example.test', chain: shop.chain, pkey: shop.key})
      assert.equal(created.status, 200)
      assert.equal(created.body.status, 'success')
      const {uuid, name} = first(created)
      assert.equal(name, 'shop')
      assert.match(String(uuid), /^[0-9a-f-]{36}$/)

      const certificate = await get('shop')
      const leaf = new crypto.X509Certificate(shop.cert)
      assert.deepEqual(
        {...certificate, created_at: undefined},
        {
          status: 'success',
          uuid,
          name: 'shop',
          created_at: undefined,
          common_name: 'shop.example.test',
          state: 'valid',
          subject: 'CN=shop.example.test',
          issuer: pki.intermediateSubject,
          serial_number: shop.serialNumber,
          not_before: new Date(leaf.validFrom).toISOString(),
          not_after: new Date(leaf.validTo).toISOString(),
          service_groups: [],
        },
      )
      assert.ok(!Number.isNaN(Date.parse(String(certificate.created_at))))
      const text = JSON.stringify((await api.request('GET', '/certificates', {as: 'alice'})).body)
      assert.ok(!text.includes('PRIVATE KEY') && !text.includes(shop.key.split('\n')[1]!), 'GET never returns the key')
    })

    it('keeps the key in a 0600 file of its own, out of the state file, and keeps both across a restart', async () => {
      const {uuid} = await get('shop')
      const file = path.join(api.dir, CERTIFICATES_DIR, `${String(uuid)}.json`)
      assert.equal(fs.statSync(file).mode & 0o777, 0o600)
      assert.equal(fs.statSync(path.dirname(file)).mode & 0o777, 0o700)
      assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), {cert: shop.chain, key: shop.key})
      assert.ok(!fs.readFileSync(path.join(api.dir, STATE_FILE), 'utf8').includes('PRIVATE KEY'))

      // A key file no record names (a crash between its write and the state file's) goes at the next start.
      const stray = path.join(api.dir, CERTIFICATES_DIR, `${crypto.randomUUID()}.json`)
      fs.writeFileSync(stray, '{}', {mode: 0o600})
      const reopened = new Store(api.dir)
      assert.equal(reopened.certificateByName(api.users[0].uuid, 'shop')?.serial_number, shop.serialNumber)
      assert.deepEqual(reopened.certificateMaterial(String(uuid)), {cert: shop.chain, key: shop.key})
      assert.equal(fs.existsSync(stray), false)
    })

    it('names an unnamed certificate <cn>-xxxxx, without the wildcard part of a wildcard CN', async () => {
      const named = first(await upload({cn: 'shop.example.test', chain: shop.chain, pkey: shop.key}))
      assert.match(String(named.name), /^shop\.example\.test-[a-z0-9]{5}$/)
      const wild = await pki.leaf({cn: '*.wild.example.test', names: ['*.wild.example.test']})
      const wildcard = first(await upload({cn: '*.wild.example.test', chain: wild.chain, pkey: wild.key}))
      assert.match(String(wildcard.name), /^wild\.example\.test-[a-z0-9]{5}$/)
      assert.equal((await get(String(wildcard.name))).common_name, '*.wild.example.test')
    })

    it('takes keys in the other PEM forms node reads (SEC1 "EC PRIVATE KEY"), and a name in upper case lower-cased', async () => {
      const sec1 = crypto.createPrivateKey(shop.key).export({type: 'sec1', format: 'pem'}) as string
      const reply = await upload({name: 'Shop-SEC1', cn: 'SHOP.example.test', chain: shop.chain, pkey: sec1})
      assert.equal(first(reply).status, 'success')
      assert.equal(first(reply).name, 'shop-sec1')
    })

    it('answers uploads that are not a usable certificate with 400 and a clear message', async () => {
      const other = await pki.leaf({cn: 'shop.example.test', names: ['shop.example.test']})
      const origin = await pki.leaf({cn: 'CloudFlare Origin Certificate', organization: 'O=CloudFlare', names: ['*.xiroi.example', 'xiroi.example']})
      const expired = await pki.leaf({cn: 'old.example.test', notBefore: new Date(Date.now() - 48 * HOUR), notAfter: new Date(Date.now() - HOUR)})
      const encrypted = crypto.createPrivateKey(shop.key).export({type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret'}) as string
      const base = {cn: 'shop.example.test', chain: shop.chain, pkey: shop.key}
      const cases: Array<[unknown, RegExp]> = [
        [{...base, cn: undefined}, /^Value of 'cn' is required/],
        [{...base, chain: ''}, /^Value of 'chain' is required/],
        [{...base, pkey: 42}, /^Value of 'pkey' is required/],
        [{...base, cn: 'localhost'}, /^The certificate CN must be a fully-qualified domain name$/],
        [{...base, cn: 'my shop'}, /^The certificate CN must be a fully-qualified domain name$/],
        [{...base, cn: '10.0.0.1'}, /^The certificate CN must be a fully-qualified domain name$/],
        // The real API reads the CN from the certificate: a CN that is no domain name is refused (kraftkit #2639).
        [{cn: 'xiroi.example', chain: origin.chain, pkey: origin.key}, /^The certificate CN must be a fully-qualified domain name$/],
        [{...base, chain: 'not a certificate'}, /^The certificate chain must be PEM/],
        [{...base, chain: shop.key}, /^The certificate chain must be PEM/],
        [{...base, chain: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'}, /^Certificate 1 of the chain cannot be parsed as X\.509$/],
        [{...base, pkey: other.key}, /^The private key does not match the certificate/],
        [{...base, pkey: 'garbage'}, /^The private key cannot be read: give it in PEM, unencrypted$/],
        [{...base, pkey: encrypted}, /^The private key cannot be read: give it in PEM, unencrypted$/],
        [{cn: 'old.example.test', chain: expired.chain, pkey: expired.key}, /^The certificate expired on \d{4}-/],
        [{...base, colour: 'red'}, /^Unknown parameter 'colour'$/],
        [{...base, name: 'bad--name'}, /^Invalid name$/],
        [[base], /^Malformed request: expected a JSON object/],
      ]
      for (const [body, message] of cases) {
        const reply = await upload(body)
        assert.equal(reply.status, 400, JSON.stringify(body).slice(0, 120))
        assert.equal(reply.body.status, 'error')
        assert.match(String(reply.body.message), message)
        assert.ok(!String(reply.body.message).includes('PRIVATE KEY'))
      }
    })

    it('refuses a cn that is not the certificate’s (30), a name in use (23), but not another user’s name', async () => {
      const mismatch = await upload({cn: 'www.example.test', chain: shop.chain, pkey: shop.key})
      assert.equal(mismatch.status, 200)
      assert.equal(mismatch.body.status, 'error')
      assert.deepEqual([first(mismatch).error, first(mismatch).message], [30, "The certificate's CN is 'shop.example.test', not 'www.example.test'"])

      const clash = await upload({name: 'shop', cn: 'shop.example.test', chain: shop.chain, pkey: shop.key})
      assert.deepEqual([first(clash).error, first(clash).message], [23, "Certificate with name 'shop' already exists"])
      assert.equal(first(await upload({name: 'shop', cn: 'shop.example.test', chain: shop.chain, pkey: shop.key}, 'bob')).status, 'success')
    })

    it('gets all, by name, by uuid (body, query, path), without details, and reports missing ones per item (8)', async () => {
      const all = items(await api.request('GET', '/certificates', {as: 'alice'}))
      assert.ok(all.length >= 4)
      assert.ok(all.every((c) => c.status === 'success' && typeof c.common_name === 'string'))
      const {uuid} = await get('shop')
      assert.equal(first(await api.request('GET', `/certificates?name=shop`, {as: 'alice'})).uuid, uuid)
      assert.equal(first(await api.request('GET', `/certificates?uuid=${String(uuid)}`, {as: 'alice'})).name, 'shop')
      assert.equal(first(await api.request('GET', `/certificates/${String(uuid)}`, {as: 'alice'})).name, 'shop')
      assert.deepEqual(first(await api.request('GET', `/certificates/${String(uuid)}?details=false`, {as: 'alice'})), {status: 'success', uuid, name: 'shop'})
      assert.ok(items(await api.request('GET', '/certificates?details=false', {as: 'alice'})).every((c) => Object.keys(c).sort().join() === 'name,status,uuid'))

      const partial = await api.request('GET', '/certificates', {as: 'alice', body: [{name: 'shop'}, {name: 'nope'}]})
      assert.equal(partial.body.status, 'partial_success')
      assert.deepEqual([items(partial)[1].error, items(partial)[1].message], [8, 'certificate not found'])
      // Another user's certificate is as missing as one that does not exist.
      assert.equal((await get('shop-sec1', 'bob')).error, 8)
      assert.equal(first(await api.request('DELETE', `/certificates/${String(uuid)}`, {as: 'bob'})).error, 8)
      assert.equal((await api.request('DELETE', '/certificates', {as: 'alice'})).status, 400)
    })

    it('deletes a certificate that no service uses, and its key file with it', async () => {
      const {uuid} = await get('shop-sec1')
      const deleted = await api.request('DELETE', '/certificates', {as: 'alice', body: [{name: 'shop-sec1'}]})
      assert.deepEqual(first(deleted), {status: 'success', uuid, name: 'shop-sec1'})
      assert.equal((await get('shop-sec1')).error, 8)
      assert.equal(fs.existsSync(path.join(api.dir, CERTIFICATES_DIR, `${String(uuid)}.json`)), false)
    })

    it('refuses more than 253 certificates per user (19)', async () => {
      const user = api.users.find((u) => u.name === 'quota')!
      const record = api.store.listCertificates(api.users[0].uuid)[0]!
      const material = api.store.certificateMaterial(record.uuid)!
      for (let i = 0; i < 253; i++) api.store.setCertificate({...record, uuid: crypto.randomUUID(), name: `filler-${i}`, user: user.uuid}, material)
      await api.store.flush()
      const over = await upload({cn: 'shop.example.test', chain: shop.chain, pkey: shop.key}, 'quota')
      assert.deepEqual([first(over).error, first(over).message], [19, 'Quota exhausted: at most 253 certificates'])
    })
  })

  describe('certificates on domains', () => {
    it('presents the certificate given with a custom domain (by name or uuid); a certificate in use cannot be deleted (15)', async () => {
      const created = await service({name: 'shop', domains: [{name: 'shop.example.test.', certificate: {name: 'shop'}}]})
      const cert = await get('shop')
      assert.deepEqual(domainsOf(created), [{fqdn: 'shop.example.test', certificate: {uuid: cert.uuid, name: 'shop', state: 'valid'}}])
      const svc = first(created, 'service_groups')
      assert.deepEqual((await get('shop')).service_groups, [{uuid: svc.uuid, name: 'shop'}])

      const refused = await api.request('DELETE', '/certificates', {as: 'alice', body: [{name: 'shop'}]})
      assert.equal(refused.body.status, 'error')
      assert.deepEqual([first(refused).error, first(refused).message], [15, "Certificate 'shop' is used by service 'shop'; delete the service (or its instances) first"])

      await api.request('DELETE', '/services', {as: 'alice', body: [{name: 'shop'}]})
      assert.deepEqual((await get('shop')).service_groups, [])
      const byUuid = await service({name: 'shop2', domains: [{name: 'shop.example.test.', certificate: {uuid: cert.uuid}}]})
      assert.equal(domainsOf(byUuid)[0].certificate?.uuid, cert.uuid)
      await api.request('DELETE', '/services', {as: 'alice', body: [{name: 'shop2'}]})
    })

    it('refuses a certificate that is not valid for the domain (30), missing (8) or not valid yet (7), and creates nothing', async () => {
      const wild = await pki.leaf({cn: '*.example.test', names: ['*.example.test']})
      await upload({name: 'wild', cn: '*.example.test', chain: wild.chain, pkey: wild.key})
      const soon = await pki.leaf({cn: 'soon.example.test', names: ['soon.example.test'], notBefore: new Date(Date.now() + 24 * HOUR)})
      assert.equal(first(await upload({name: 'soon', cn: 'soon.example.test', chain: soon.chain, pkey: soon.key})).status, 'success')
      assert.equal((await get('soon')).state, 'error')
      const before = api.store.listServices().length
      const cases: Array<[string, string, number, string]> = [
        ['www.example.test.', 'shop', 30, "Certificate 'shop' (CN shop.example.test) is not valid for domain 'www.example.test'"],
        // A wildcard covers one label, not the name itself nor deeper ones.
        ['example.test.', 'wild', 30, "Certificate 'wild' (CN *.example.test) is not valid for domain 'example.test'"],
        ['a.b.example.test.', 'wild', 30, "Certificate 'wild' (CN *.example.test) is not valid for domain 'a.b.example.test'"],
        ['soon.example.test.', 'soon', 7, "Certificate 'soon' is not valid now"],
        ['www.example.test.', 'nope', 8, 'certificate not found'],
      ]
      for (const [domain, certificate, code, message] of cases) {
        const reply = await service({domains: [{name: domain, certificate: {name: certificate}}]})
        assert.equal(first(reply, 'service_groups').error, code, domain)
        assert.ok(String(first(reply, 'service_groups').message).startsWith(message), String(first(reply, 'service_groups').message))
      }
      const instance = await api.request('POST', '/instances', {as: 'alice', body: {image: 'ukc/hello', service_group: {services: [{port: 443, destination_port: 8080}], domains: [{name: 'www.example.test.', certificate: {name: 'shop'}}]}}})
      assert.equal(first(instance, 'instances').error, 30)
      assert.equal(api.store.listServices().length, before)
      assert.ok(items(await api.request('GET', '/instances', {as: 'alice'}), 'instances').length === 0)
      const wildOk = await service({name: 'www', domains: [{name: 'www.example.test.', certificate: {name: 'wild'}}]})
      assert.equal(domainsOf(wildOk)[0].certificate?.name, 'wild')
      await api.request('DELETE', '/services', {as: 'alice', body: [{name: 'www'}]})
    })

    it('answers malformed certificate references and certificates for the metro’s names with 400', async () => {
      const cases: Array<[unknown, RegExp]> = [
        [[{name: 'shop', certificate: {name: 'shop'}}], /^Certificates are only allowed for fully-qualified domain names$/],
        [[{name: 'shop.local.localhost.', certificate: {name: 'shop'}}], /^Certificates are only allowed for your own domains, not for names under local\.localhost$/],
        [[{name: 'shop.example.test.', certificate: 'shop'}], /^Value of 'certificate' in domain description must be an object/],
        [[{name: 'shop.example.test.', certificate: {}}], /must have exactly one of 'uuid' or 'name'/],
        [[{name: 'shop.example.test.', certificate: {uuid: 'a', name: 'b'}}], /must have exactly one of 'uuid' or 'name'/],
        [[{name: 'shop.example.test.', certificate: {name: 'shop', pem: 'x'}}], /^Unknown parameter 'domains\.certificate\.pem'$/],
      ]
      for (const [domains, message] of cases) {
        const reply = await service({domains})
        assert.equal(reply.status, 400, JSON.stringify(domains))
        assert.match(String(reply.body.message), message)
      }
    })

    it('binds the certificate of an instance create’s new service, which its last instance takes away', async () => {
      const created = await api.request('POST', '/instances', {
        as: 'alice',
        body: {image: 'ukc/hello', name: 'web', service_group: {services: [{port: 443, destination_port: 8080}], domains: [{name: 'shop.example.test.', certificate: {name: 'shop'}}]}},
      })
      const instance = first(created, 'instances')
      const group = instance.service_group as {name: string; domains: Array<{fqdn: string; certificate?: {name: string}}>}
      assert.deepEqual(group.domains.map((d) => [d.fqdn, d.certificate?.name]), [['shop.example.test', 'shop']])
      const listed = first(await api.request('GET', '/instances', {as: 'alice', body: [{name: 'web'}]}), 'instances')
      assert.deepEqual(listed.service_group, {uuid: (instance.service_group as Item).uuid, name: group.name, domains: group.domains})
      assert.deepEqual(((await get('shop')).service_groups as Item[]).map((s) => s.name), [group.name])
      await api.request('DELETE', '/instances', {as: 'alice', body: [{name: 'web'}]})
      assert.deepEqual((await get('shop')).service_groups, [])
    })

    it('gives a custom domain without a certificate one of the user’s that is valid for it, its exact CN first', async () => {
      const exact = await service({name: 'exact', domains: [{name: 'shop.example.test.'}]})
      assert.equal(domainsOf(exact)[0].certificate?.name, 'shop')
      const wildcard = await service({name: 'wildcard', domains: [{name: 'cart.example.test.'}]})
      assert.equal(domainsOf(wildcard)[0].certificate?.name, 'wild')
      await api.request('DELETE', '/services', {as: 'alice', body: [{name: 'exact'}, {name: 'wildcard'}]})
    })

    it('else issues one from the platform CA: a certificate object <fqdn>-xxxxx that outlives the service and is reused', async () => {
      const before = items(await api.request('GET', '/certificates', {as: 'bob'})).length
      const created = await service({name: 'blog', domains: [{name: 'blog.example.test.'}, {name: 'blog'}]}, 'bob')
      const [custom, sub] = domainsOf(created)
      assert.equal(sub.fqdn, 'blog.local.localhost')
      assert.equal(sub.certificate, undefined, 'the metro’s names are served with its wildcard certificate')
      assert.match(String(custom.certificate?.name), /^blog\.example\.test-[a-z0-9]{5}$/)
      const issued = await get(String(custom.certificate?.name), 'bob')
      const ca = await api.ca()
      assert.equal(issued.common_name, 'blog.example.test')
      assert.equal(issued.state, 'valid')
      assert.equal(issued.issuer, new crypto.X509Certificate(ca.certPem).subject.split('\n').join(', '))
      const material = api.store.certificateMaterial(String(issued.uuid))!
      assert.ok(new crypto.X509Certificate(material.cert).verify(new crypto.X509Certificate(ca.certPem).publicKey), 'signed by the platform CA')
      assert.equal(items(await api.request('GET', '/certificates', {as: 'bob'})).length, before + 1)

      await api.request('DELETE', '/services', {as: 'bob', body: [{name: 'blog'}]})
      assert.equal((await get(String(issued.name), 'bob')).status, 'success', 'deleted separately, as on the real cloud')
      const again = await service({name: 'blog', domains: [{name: 'blog.example.test.'}]}, 'bob')
      assert.equal(domainsOf(again)[0].certificate?.uuid, issued.uuid)
      await api.request('DELETE', '/services', {as: 'bob', body: [{name: 'blog'}]})
      assert.equal(first(await api.request('DELETE', '/certificates', {as: 'bob', body: [{name: issued.name}]})).status, 'success')
    })

    it('never writes a private key to the log', () => {
      const log = api.logs.join('\n')
      assert.ok(!log.includes('PRIVATE KEY') && !log.includes(shop.key.split('\n')[1]!))
    })
  })
})
