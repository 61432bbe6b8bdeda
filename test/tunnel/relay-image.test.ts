// Which relay image `ukc tunnel` asks a real metro for (contract tests against the API's shapes, with
// nock): the user's WebSocket relay when `GET /images/list` finds it, else the official relay in
// legacy mode with one stderr line saying so — also when the lookup fails. Every run here stops at the
// connection to the relay (nock refuses it, --connect-timeout is 1 ms) and must then delete the relay.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import {afterEach, describe, it} from 'node:test'

import {API, TARGET, UUID1, api, envelope, instanceObject, nock, ukc} from '../commands/harness.js'

const RELAY_FQDN = 'young-night-5fpf0jj8.fra.unikraft.app'
const WANTED = 'alice/tunnel-relay:latest'
const TUNNEL = ['tunnel', ...TARGET, '--connect-timeout', '1ms', '0:127.16.0.9:5432']

/** What POST /instances answers for a relay; records the request body. */
function expectCreate(requests: Array<Record<string, unknown>>): nock.Scope {
  return api()
    .post('/v1/instances', (body: Record<string, unknown>) => {
      requests.push(body)
      return true
    })
    .reply(200, envelope('instances', [instanceObject({uuid: UUID1, name: 'relay-x', state: 'starting', service_group: {uuid: 'sg', name: 'young-night-5fpf0jj8', domains: [{fqdn: RELAY_FQDN}]}})]))
}

function expectDelete(): nock.Scope {
  return api().delete('/v1/instances', [{uuid: UUID1}]).reply(200, envelope('instances', [{status: 'success', uuid: UUID1, name: 'relay-x', previous_state: 'starting'}]))
}

/** Legacy mode waits for the relay to run: it is still starting when the 1 ms deadline has passed. */
function expectStateQuery(): nock.Scope {
  return api().get('/v1/instances', [{uuid: UUID1}]).reply(200, envelope('instances', [instanceObject({uuid: UUID1, name: 'relay-x', state: 'starting'})]))
}

const fallbackLines = (stderr: string): string[] => stderr.split('\n').filter((line) => line.includes('using the official relay'))

describe('ukc tunnel on a real metro: the relay image', () => {
  afterEach(() => {
    nock.cleanAll()
    fs.rmSync(path.join(process.env.UKC_CONFIG_DIR ?? '', 'config.json'), {force: true})
  })

  it('uses <user>/tunnel-relay:latest when the account has it', async () => {
    const lookup = api()
      .get('/v1/images/list', [{tag: WANTED}])
      .reply(200, envelope('images', [{status: 'success', digest: 'alice/tunnel-relay@sha256:5c1f2c0a', tags: [WANTED], initrd: false, size_in_bytes: 41_943_040, args: '/usr/bin/node /app/dist/tunnel/relay/main.js', kernel_args: '', labels: {}}]))
    const created: Array<Record<string, unknown>> = []
    const create = expectCreate(created)
    const remove = expectDelete()
    const {stderr, exitCode} = await ukc(TUNNEL)
    assert.ok(lookup.isDone() && create.isDone() && remove.isDone(), `pending: ${nock.pendingMocks().join(', ')}\n${stderr}`)
    assert.equal(created[0]?.image, WANTED)
    assert.ok((created[0]?.args as string[]).some((arg) => arg.startsWith('--token-sha256=')), 'the WebSocket relay gets a token hash')
    assert.deepEqual(fallbackLines(stderr), [])
    assert.equal(exitCode, 7, stderr) // the relay could not be reached in 1 ms
    assert.match(stderr, new RegExp(`could not connect to the relay at ${RELAY_FQDN}`))
  })

  it('falls back to official/utils/tunnel:latest in legacy mode, saying so once, when the account has no such image', async () => {
    const lookup = api()
      .get('/v1/images/list', [{tag: WANTED}])
      .reply(200, {status: 'error', message: `no image with name: ${WANTED}`, data: {images: [{status: 'error', error: 8, message: `no image with name: ${WANTED}`}]}})
    const created: Array<Record<string, unknown>> = []
    const create = expectCreate(created)
    const state = expectStateQuery()
    const remove = expectDelete()
    const {stderr, exitCode} = await ukc(TUNNEL)
    assert.ok(lookup.isDone() && create.isDone() && state.isDone() && remove.isDone(), `pending: ${nock.pendingMocks().join(', ')}\n${stderr}`)
    assert.equal(created[0]?.image, 'official/utils/tunnel:latest')
    assert.deepEqual((created[0]?.args as string[]).slice(2), ['600', '[TCP2TCP:127.16.0.9:5432:4444:27]'], 'kraft\'s relay args')
    const lines = fallbackLines(stderr)
    assert.equal(lines.length, 1, stderr)
    assert.match(lines[0] ?? '', /your account has no image alice\/tunnel-relay:latest: using the official relay official\/utils\/tunnel:latest \(legacy mode\); for the WebSocket relay, build and push deploy\/relay\/ as alice\/tunnel-relay:latest/)
    assert.equal(exitCode, 7, stderr)
  })

  it('an empty answer to the lookup means no image, too', async () => {
    const lookup = api().get('/v1/images/list', [{tag: WANTED}]).reply(200, envelope('images', []))
    const created: Array<Record<string, unknown>> = []
    const scopes = [lookup, expectCreate(created), expectStateQuery(), expectDelete()]
    const {stderr} = await ukc(TUNNEL)
    assert.ok(scopes.every((s) => s.isDone()), `pending: ${nock.pendingMocks().join(', ')}\n${stderr}`)
    assert.equal(created[0]?.image, 'official/utils/tunnel:latest')
    assert.equal(fallbackLines(stderr).length, 1, stderr)
  })

  it('falls back as well when the lookup fails (HTTP 503 on every try), and says why', async () => {
    const lookup = api().get('/v1/images/list', [{tag: WANTED}]).times(3).reply(503, {status: 'error', message: 'service unavailable'})
    const created: Array<Record<string, unknown>> = []
    const scopes = [lookup, expectCreate(created), expectStateQuery(), expectDelete()]
    const {stderr} = await ukc(TUNNEL)
    assert.ok(scopes.every((s) => s.isDone()), `pending: ${nock.pendingMocks().join(', ')}\n${stderr}`)
    assert.equal(created[0]?.image, 'official/utils/tunnel:latest')
    const lines = fallbackLines(stderr)
    assert.equal(lines.length, 1, stderr)
    assert.match(lines[0] ?? '', /could not look up the relay image alice\/tunnel-relay:latest \(.*HTTP 503.*\): using the official relay/)
  })

  it('looks up the image the profile names (tunnelImage); --tunnel-image wins over it', async () => {
    fs.writeFileSync(path.join(process.env.UKC_CONFIG_DIR ?? '', 'config.json'), JSON.stringify({profiles: {default: {tunnelImage: 'alice/relay-from-profile:v2'}}}), {mode: 0o600})
    const image = {status: 'success', digest: 'alice/relay-from-profile@sha256:77aa', tags: ['alice/relay-from-profile:v2']}
    const created: Array<Record<string, unknown>> = []
    const scopes = [api().get('/v1/images/list', [{tag: 'alice/relay-from-profile:v2'}]).reply(200, envelope('images', [image])), expectCreate(created), expectDelete()]
    const {stderr} = await ukc(TUNNEL)
    assert.ok(scopes.every((s) => s.isDone()), `pending: ${nock.pendingMocks().join(', ')}\n${stderr}`)
    assert.equal(created[0]?.image, 'alice/relay-from-profile:v2')

    // An official image by flag: legacy mode straight away, no lookup.
    const again: Array<Record<string, unknown>> = []
    const legacy = [expectCreate(again), expectStateQuery(), expectDelete()]
    const second = await ukc([...TUNNEL, '--tunnel-image', 'official/utils/tunnel:1.0'])
    assert.ok(legacy.every((s) => s.isDone()), `pending: ${nock.pendingMocks().join(', ')}\n${second.stderr}`)
    assert.equal(again[0]?.image, 'official/utils/tunnel:1.0')
    assert.deepEqual(fallbackLines(second.stderr), [])
  })

  it('a rejected token stops at the lookup with exit 3: no relay is created', async () => {
    const lookup = api().get('/v1/images/list', [{tag: WANTED}]).reply(401, {status: 'error', message: 'unauthorized'})
    const {stderr, exitCode} = await ukc(TUNNEL)
    assert.ok(lookup.isDone())
    assert.equal(exitCode, 3, stderr)
    assert.deepEqual(nock.pendingMocks(), [])
    assert.ok(!stderr.includes(API + '/v1/instances'))
  })
})
