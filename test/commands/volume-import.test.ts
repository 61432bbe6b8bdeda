// `ukc volume import` against the real API's shapes (nock): the volume is looked up and checked
// before anything is created, the import instance is created with exactly kraft's request, waited
// for, dialled at <fqdn>:42069 directly (a real metro has no local gateway), and deleted whatever
// happens; the auth string never shows.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, afterEach, describe, it} from 'node:test'

import {TARGET, UUID1, api, envelope, instanceObject, nock, ukc} from './harness.js'

const VOL_UUID = '99a38132-4f7d-4db2-8fa1-3d4e5f607182'
/** A loopback address nothing listens on: the dial fails at once, after the request was made. */
const UNREACHABLE_FQDN = '127.0.0.77'

const source = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-import-src-'))
fs.mkdirSync(path.join(source, 'www'))
fs.writeFileSync(path.join(source, 'www/index.html'), '<h1>hi</h1>')
after(() => fs.rmSync(source, {recursive: true, force: true}))

function volumeObject(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {status: 'success', uuid: VOL_UUID, name: 'site', state: 'available', size_mb: 64, attached_to: [], mounted_by: [], persistent: true, ...overrides}
}

describe('volume import', () => {
  afterEach(() => nock.cleanAll())

  it("creates the import instance with kraft's request, dials <fqdn>:42069, and deletes the instance when that fails", async () => {
    let auth = ''
    const lookedUp = api().get('/v1/volumes', [{name: 'site'}]).reply(200, envelope('volumes', [volumeObject()]))
    const created = api()
      .post('/v1/instances', (body: Record<string, unknown>) => {
        const args = body.args as string[]
        auth = args[3] ?? ''
        assert.match(auth, /^[0-9A-Za-z]{32}$/)
        assert.deepEqual(body, {
          image: 'official/utils/volimport:latest',
          memory_mb: 128,
          args: ['-p', '42069', '-a', auth, '-t', '10'],
          service_group: {services: [{port: 42069, destination_port: 42069, handlers: ['tls']}]},
          volumes: [{uuid: VOL_UUID, at: '/'}],
          autostart: true,
          wait_timeout_ms: 3000,
          features: ['delete-on-stop'],
        })
        return true
      })
      .reply(200, envelope('instances', [{status: 'success', uuid: UUID1, name: 'volimport-x1', state: 'running', service_group: {domains: [{fqdn: UNREACHABLE_FQDN}]}}]))
    const waited = api().get('/v1/instances/wait', [{uuid: UUID1, state: 'running', timeout_ms: 60_000}]).reply(200, envelope('instances', [{status: 'success', uuid: UUID1, name: 'volimport-x1', state: 'running'}]))
    const deleted = api().delete('/v1/instances', [{uuid: UUID1}]).reply(200, envelope('instances', [{status: 'success', uuid: UUID1, name: 'volimport-x1'}]))

    const {stdout, stderr, exitCode} = await ukc(['volume', 'import', '--volume', 'site', '--source', source, ...TARGET])
    assert.ok(lookedUp.isDone() && created.isDone() && waited.isDone(), 'looked up, created, waited for')
    assert.ok(deleted.isDone(), 'the import instance is deleted')
    assert.equal(exitCode, 7)
    assert.match(stderr, new RegExp(`Error: cannot reach the import instance at ${UNREACHABLE_FQDN}:42069: .*ECONNREFUSED`))
    assert.ok(!`${stdout}${stderr}`.includes(auth), 'the auth string is never printed')
  })

  it("passes --timeout to the instance in seconds (kraft's -t) and --image as given", async () => {
    api().get('/v1/volumes', [{uuid: VOL_UUID}]).reply(200, envelope('volumes', [volumeObject()]))
    const created = api()
      .post('/v1/instances', (body: {image: string; args: string[]}) => body.image === 'official/utils/volimport:1.0' && body.args[5] === '90')
      .reply(200, envelope('instances', [{status: 'error', error: 8, message: 'No image found'}]))
    const {stderr, exitCode} = await ukc(['vol', 'import', '-v', VOL_UUID, '-s', source, '-t', '1m30s', '--image', 'official/utils/volimport:1.0', ...TARGET])
    assert.ok(created.isDone())
    assert.equal(exitCode, 4, stderr)
    const plain = await ukc(['volume', 'import', '-v', 'site', '-s', source, '-t', 'soon', ...TARGET])
    assert.equal(plain.exitCode, 2)
    assert.match(plain.stderr, /invalid --timeout duration "soon"/)
  })

  it('refuses, before creating anything, a volume that is attached (5), missing (4), or too small (5)', async () => {
    const cases: Array<[Record<string, unknown>, number, RegExp]> = [
      [volumeObject({attached_to: [instanceObject()].map((i) => ({uuid: i.uuid, name: i.name}))}), 5, /^Error: volume site is attached to nginx-1a747: an import needs a volume that no instance uses\nTry: detach it first: ukc volume detach site$/m],
      [{status: 'error', name: 'site', error: 8, message: 'volume not found'}, 4, /^Error: site: volume not found$/m],
      [volumeObject({size_mb: 1}), 5, /^Error: volume site is too small for the source/m],
    ]
    for (const [answer, code, message] of cases) {
      nock.cleanAll()
      const status = answer.status === 'error' ? 'error' : 'success'
      api().get('/v1/volumes', [{name: 'site'}]).reply(200, {status, data: {volumes: [answer]}})
      if (answer.size_mb === 1) fs.writeFileSync(path.join(source, 'www/big.bin'), Buffer.alloc(2 * 1024 * 1024))
      const {stderr, exitCode} = await ukc(['volume', 'import', '--volume', 'site', '--source', source, ...TARGET])
      fs.rmSync(path.join(source, 'www/big.bin'), {force: true})
      assert.equal(exitCode, code, stderr)
      assert.match(stderr, message)
      assert.ok(nock.isDone(), 'no instance was created')
    }
  })

  it('refuses a source that is not a directory (exit 2) without calling the API', async () => {
    const {stderr, exitCode} = await ukc(['volume', 'import', '--volume', 'site', '--source', path.join(source, 'www/index.html'), ...TARGET])
    assert.equal(exitCode, 2)
    assert.match(stderr, /is not a directory: ukc imports directories \(Dockerfiles, image references and cpio archives are not supported\)/)
  })
})
