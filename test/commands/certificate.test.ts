// `ukc cert …` against the real API's shapes (nock), the PEM flags (file, stdin or text), the secrecy
// of the private key, and the --domain/--certificate pairs of instance and service create.
import assert from 'node:assert/strict'
import {generateKeyPairSync} from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, afterEach, describe, it} from 'node:test'

import {SVC_UUID, TARGET, UUID1, UUID2, api, envelope, instanceObject, nock, serviceObject, ukc} from './harness.js'

const CERT_UUID = 'aa4b9243-5a8e-4ec3-9ab2-4e5f60718293'
// A real key (never a constant that could leak from elsewhere); its base64 body is what must never be printed.
const PKEY = generateKeyPairSync('ec', {namedCurve: 'prime256v1'}).privateKey.export({type: 'pkcs8', format: 'pem'}).toString()
const KEY_BODY = PKEY.split('\n')[1]
const CHAIN = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUZ3kW\n-----END CERTIFICATE-----\n'
/** One argument for ukc(): @oclif/test's runCommand splits its arguments on spaces outside double quotes. */
const quoted = (text: string) => `"${text}"`

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-cert-test-'))
const keyFile = path.join(dir, 'key.pem')
const chainFile = path.join(dir, 'chain.pem')
fs.writeFileSync(keyFile, PKEY, {mode: 0o600})
fs.writeFileSync(chainFile, CHAIN)

function certificateObject(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    status: 'success',
    uuid: CERT_UUID,
    name: 'my-cert',
    created_at: new Date(Date.now() - 120_000).toISOString(),
    common_name: 'www.example.com',
    state: 'valid',
    subject: 'CN=www.example.com',
    issuer: "CN=R3,O=Let's Encrypt,C=US",
    serial_number: '1A2B3C4D',
    not_before: '2026-01-01T00:00:00Z',
    not_after: '2026-04-01T00:00:00Z',
    service_groups: [{uuid: SVC_UUID, name: 'shop'}],
    ...overrides,
  }
}

const failed = (name: string, error: number, message: string) => ({status: 'error', name, error, message})

describe('cert create', () => {
  afterEach(() => nock.cleanAll())
  after(() => fs.rmSync(dir, {recursive: true, force: true}))

  it('POSTs /certificates with the name, CN and the PEM contents of the files, then prints the certificate', async () => {
    const created = api()
      .post('/v1/certificates', {name: 'my-cert', cn: 'www.example.com', chain: CHAIN, pkey: PKEY})
      .reply(200, envelope('certificates', [{status: 'success', uuid: CERT_UUID, name: 'my-cert'}]))
    api().get('/v1/certificates', [{uuid: CERT_UUID}]).reply(200, envelope('certificates', [certificateObject()]))
    const {stdout, stderr, exitCode} = await ukc(['cert', 'create', '--name', 'my-cert', '--cn', 'www.example.com', '--pkey', keyFile, '--chain', chainFile, ...TARGET])
    assert.ok(created.isDone())
    assert.equal(exitCode, 0)
    assert.equal(stderr, '')
    assert.match(stdout, /^NAME\s+STATE\s+COMMON NAME\s+CREATED AT\nmy-cert\s+valid\s+www\.example\.com\s+2mins ago\n$/)
  })

  it('takes PEM text for a value that is no file, as kraft does (short flags, no name)', async () => {
    const created = api()
      .post('/v1/certificates', {cn: 'www.example.com', chain: CHAIN, pkey: PKEY})
      .reply(200, envelope('certificates', [{status: 'success', uuid: CERT_UUID, name: 'www.example.com-a1b2c'}]))
    api().get('/v1/certificates').reply(200, envelope('certificates', [certificateObject({name: 'www.example.com-a1b2c'})]))
    const {exitCode} = await ukc(['crt', 'crt', '-c', 'www.example.com', '-p', quoted(PKEY), '-C', quoted(CHAIN), ...TARGET])
    assert.ok(created.isDone())
    assert.equal(exitCode, 0)
  })

  it('never prints the private key: not in the output, the JSON, the raw body or an error', async () => {
    const body = JSON.stringify(envelope('certificates', [{status: 'success', uuid: CERT_UUID, name: 'my-cert'}]))
    const outputs: string[] = []
    for (const format of [[], ['--json'], ['-o', 'raw'], ['-o', 'yaml'], ['-o', 'list']]) {
      api().post('/v1/certificates').reply(200, body)
      api().get('/v1/certificates').reply(200, envelope('certificates', [certificateObject()]))
      const run = await ukc(['cert', 'create', '--cn', 'www.example.com', '--pkey', keyFile, '--chain', chainFile, ...format, ...TARGET])
      assert.equal(run.exitCode, 0, format.join(' '))
      outputs.push(run.stdout, run.stderr)
    }
    api().post('/v1/certificates').reply(400, {status: 'error', message: 'The certificate CN must be a fully-qualified domain name'})
    const rejected = await ukc(['cert', 'create', '--cn', 'localhost', '--pkey', quoted(PKEY), '--chain', quoted(CHAIN), ...TARGET])
    assert.equal(rejected.exitCode, 2)
    outputs.push(rejected.stdout, rejected.stderr)
    // A key body pasted without its PEM lines is neither a file nor PEM: refused without quoting it.
    const pasted = await ukc(['cert', 'create', '--cn', 'www.example.com', '--pkey', KEY_BODY, '--chain', quoted(CHAIN), ...TARGET])
    assert.equal(pasted.exitCode, 2)
    assert.equal(pasted.stderr.split('\n')[0], 'Error: --pkey: the value is neither a file nor PEM text')
    outputs.push(pasted.stdout, pasted.stderr)
    for (const text of outputs) assert.ok(!text.includes(KEY_BODY), `the key leaked into: ${text}`)
  })

  it('passes the API\'s CN validation message through as a usage error (exit 2)', async () => {
    api().post('/v1/certificates').reply(400, {status: 'error', message: 'The certificate CN must be a fully-qualified domain name'})
    const {exitCode, stderr} = await ukc(['cert', 'create', '--cn', 'example', '--pkey', keyFile, '--chain', chainFile, ...TARGET])
    assert.equal(exitCode, 2)
    assert.equal(stderr, 'Error: The certificate CN must be a fully-qualified domain name\n')
  })

  it('exits 5 when the name is taken (code 23)', async () => {
    api().post('/v1/certificates').reply(200, {status: 'error', data: {certificates: [failed('my-cert', 23, 'A certificate with this name already exists')]}})
    const {exitCode, stderr} = await ukc(['cert', 'create', '-n', 'my-cert', '-c', 'www.example.com', '-p', keyFile, '-C', chainFile, ...TARGET])
    assert.equal(exitCode, 5)
    assert.equal(stderr, 'Error: my-cert: A certificate with this name already exists\n')
  })

  it('refuses unreadable, missing and non-PEM files with one line each (exit 2, no API call)', async () => {
    const notPem = path.join(dir, 'notes.txt')
    fs.writeFileSync(notPem, 'hello')
    const cases: Array<[string[], string]> = [
      [['--pkey', keyFile, '--chain', dir], `Error: --chain: could not read file "${dir}": EISDIR`],
      [['--pkey', keyFile, '--chain', path.join(dir, 'missing.pem')], `Error: --chain: "${path.join(dir, 'missing.pem')}" is neither a file nor PEM text`],
      [['--pkey', keyFile, '--chain', notPem], `Error: --chain: file "${notPem}" holds no PEM block (no "-----BEGIN " line)`],
      [['--pkey', dir, '--chain', chainFile], 'Error: --pkey: could not read the file: EISDIR'],
      [['--pkey', notPem, '--chain', chainFile], 'Error: --pkey: the file holds no PEM block (no "-----BEGIN " line)'],
      [['--pkey', '-', '--chain', '-'], 'Error: only one of --pkey and --chain can be read from stdin'],
    ]
    for (const [flags, line] of cases) {
      const {exitCode, stderr} = await ukc(['cert', 'create', '--cn', 'www.example.com', ...flags, ...TARGET])
      assert.equal(exitCode, 2, flags.join(' '))
      assert.equal(stderr.split('\n')[0], line)
      assert.doesNotMatch(stderr, /\n {4}at /, 'no stack trace')
    }
  })

  it('needs --cn, --pkey and --chain (exit 2)', async () => {
    const {exitCode, stderr} = await ukc(['cert', 'create', '--pkey', keyFile, '--chain', chainFile, ...TARGET])
    assert.equal(exitCode, 2)
    assert.match(stderr, /Missing required flag cn/)
  })
})

describe('cert list, get and remove', () => {
  afterEach(() => nock.cleanAll())

  it('lists certificates in kraft\'s table (GET /certificates without a body)', async () => {
    api().get('/v1/certificates', (body) => !body).reply(200, envelope('certificates', [certificateObject(), certificateObject({uuid: UUID2, name: 'shop-cert', state: 'pending', common_name: 'shop.example.com', validation: {attempt: 2, next: '2026-01-01T00:05:00Z'}})]))
    const {stdout, exitCode} = await ukc(['certs', 'ls', ...TARGET])
    assert.equal(exitCode, 0)
    const lines = stdout.trimEnd().split('\n')
    assert.match(lines[0], /^NAME\s+STATE\s+COMMON NAME\s+CREATED AT$/)
    assert.match(lines[1], /^my-cert\s+valid\s+www\.example\.com\s+2mins ago$/)
    assert.match(lines[2], /^shop-cert\s+pending\s+shop\.example\.com\s+2mins ago$/)
  })

  it('gets a certificate in the list format with every kraft column, in kraft\'s order', async () => {
    const scope = api().get('/v1/certificates', [{name: 'my-cert'}]).reply(200, envelope('certificates', [certificateObject({validation: {attempt: 1, next: '2026-01-01T00:05:00Z'}})]))
    const {stdout, exitCode} = await ukc(['certificate', 'info', 'my-cert', ...TARGET])
    assert.ok(scope.isDone())
    assert.equal(exitCode, 0)
    const keys = stdout.trimEnd().split('\n').map((line) => line.split(':')[0].trim())
    assert.deepEqual(keys, ['uuid', 'name', 'state', 'validation attempts', 'next attempt', 'common name', 'subject', 'issuer', 'serial number', 'not before', 'not after', 'created at', 'services'])
    assert.match(stdout, /^ +issuer: CN=R3,O=Let's Encrypt,C=US$/m)
    assert.match(stdout, /^ +services: shop$/m)
  })

  it('partial success: prints the certificates that exist, reports the missing one and exits 4', async () => {
    api().get('/v1/certificates').reply(200, {status: 'partial_success', data: {certificates: [certificateObject(), failed('ghost', 8, 'certificate not found')]}})
    const {stdout, stderr, exitCode} = await ukc(['cert', 'get', 'my-cert', 'ghost', ...TARGET])
    assert.equal(exitCode, 4)
    assert.equal(stderr, 'Error: ghost: certificate not found\n')
    assert.match(stdout, /^ +name: my-cert$/m)
  })

  it('DELETEs /certificates by name and UUID', async () => {
    const scope = api()
      .delete('/v1/certificates', [{name: 'my-cert'}, {uuid: UUID1}])
      .reply(200, envelope('certificates', [{status: 'success', uuid: CERT_UUID, name: 'my-cert'}, {status: 'success', uuid: UUID1, name: 'old'}]))
    const {stdout, stderr, exitCode} = await ukc(['cert', 'rm', 'my-cert', UUID1, ...TARGET])
    assert.ok(scope.isDone())
    assert.equal(exitCode, 0)
    assert.equal(stderr, 'removing 2 certificate(s)\n')
    assert.match(stdout, new RegExp(`^NAME\\s+UUID\\nmy-cert\\s+${CERT_UUID}\\nold\\s+${UUID1}\\n$`))
  })

  it('removes every certificate with --all --yes, and exits 5 for one a service still uses (code 15)', async () => {
    api().get('/v1/certificates').reply(200, envelope('certificates', [certificateObject(), certificateObject({uuid: UUID1, name: 'old', service_groups: []})]))
    const scope = api()
      .delete('/v1/certificates', [{uuid: CERT_UUID}, {uuid: UUID1}])
      .reply(200, {status: 'partial_success', data: {certificates: [failed('my-cert', 15, 'certificate is in use by a service'), {status: 'success', uuid: UUID1, name: 'old'}]}})
    const {stdout, stderr, exitCode} = await ukc(['cert', 'remove', '--all', '--yes', ...TARGET])
    assert.ok(scope.isDone())
    assert.equal(exitCode, 5)
    assert.equal(stderr, 'removing 2 certificate(s)\nError: my-cert: certificate is in use by a service\n')
    assert.match(stdout, /^old\s/m)
  })

  it('needs names or --all, not both (exit 2)', async () => {
    const neither = await ukc(['cert', 'remove', ...TARGET])
    assert.equal(neither.exitCode, 2)
    assert.equal(neither.stderr.split('\n')[0], 'Error: either specify a certificate name or UUID, or use the --all flag')
  })
})

describe('--domain and --certificate of instance and service create', () => {
  afterEach(() => nock.cleanAll())

  it('service create pairs each --certificate with the --domain at its position: {name, certificate: {name|uuid}}', async () => {
    const scope = api()
      .post('/v1/services', {
        services: [{port: 443, destination_port: 8080, handlers: ['http', 'tls']}, {port: 80, destination_port: 443, handlers: ['http', 'redirect']}],
        domains: [
          {name: 'www.example.com.', certificate: {name: 'my-cert'}},
          {name: 'shop.example.com.', certificate: {uuid: CERT_UUID}},
        ],
      })
      .reply(200, envelope('service_groups', [{status: 'success', uuid: SVC_UUID, name: 'shop'}]))
    api().get('/v1/services').reply(200, envelope('service_groups', [serviceObject()]))
    const {exitCode} = await ukc(['service', 'create', '-d', 'www.example.com', '-c', 'my-cert', '--domain', 'shop.example.com.', '--certificate', CERT_UUID, '443:8080', ...TARGET])
    assert.equal(exitCode, 0)
    assert.ok(scope.isDone())
  })

  it('instance create sends the pairs in its new service', async () => {
    const scope = api()
      .post('/v1/instances', (body) => JSON.stringify(body.service_group?.domains) === JSON.stringify([{name: 'www.example.com.', certificate: {name: 'my-cert'}}]))
      .reply(200, envelope('instances', [{status: 'success', uuid: UUID1, name: 'web', state: 'stopped', service_group: {uuid: SVC_UUID, name: 'shop'}}]))
    api().get('/v1/instances').reply(200, envelope('instances', [instanceObject()]))
    api().get('/v1/services').reply(200, envelope('service_groups', [serviceObject()]))
    const {exitCode} = await ukc(['instance', 'create', '-p', '443:8080', '-d', 'www.example.com', '-c', 'my-cert', 'nginx', ...TARGET])
    assert.equal(exitCode, 0)
    assert.ok(scope.isDone())
  })

  it('refuses certificates that do not pair up with domains (exit 2, no API call)', async () => {
    for (const command of [['service', 'create'], ['instance', 'create', '-p']]) {
      for (const flags of [['-d', 'a.example.com', '-d', 'b.example.com', '-c', 'my-cert'], ['-c', 'my-cert']]) {
        const {exitCode, stderr} = await ukc([...command, '443:8080', ...flags, ...(command[0] === 'instance' ? ['nginx'] : []), ...TARGET])
        assert.equal(exitCode, 2, [...command, ...flags].join(' '))
        assert.equal(stderr.split('\n').find((l) => l.startsWith('Error:')), 'Error: number of certificates does not match number of domains')
      }
    }
  })
})
