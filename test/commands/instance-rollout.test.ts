import assert from 'node:assert/strict'
import {afterEach, describe, it} from 'node:test'

import {SVC_UUID, TARGET, UUID1, UUID2, api, envelope, instanceObject, nock, serviceObject, ukc} from './harness.js'

const NEW = '11c2d3e4-5f60-4718-8a9b-0c1d2e3f4a5b'
const OLD_NGINX = instanceObject({uuid: UUID1, name: 'web-old', image: 'nginx@sha256:0d5b4ba1'})
const OTHER = instanceObject({uuid: UUID2, name: 'cache', image: 'oci://unikraft.io/alice/redis:7@sha256:77'})

/** The calls a create with --service web --start makes before and after the rollout, recorded in order. */
function service(calls: string[], members = [OLD_NGINX, OTHER]) {
  api()
    .get('/v1/services', [{name: 'web'}])
    .reply(200, envelope('service_groups', [serviceObject({name: 'web', instances: members.map((m) => ({uuid: m.uuid, name: m.name}))})]))
  if (members.length > 0) api().get('/v1/instances', members.map((m) => ({uuid: m.uuid as string}))).reply(200, envelope('instances', members))
  api()
    .post('/v1/instances', (body: Record<string, unknown>) => body.image === 'nginx:1.27' && JSON.stringify(body.service_group) === JSON.stringify({name: 'web'}))
    .reply(200, () => {
      calls.push('create')
      return envelope('instances', [{status: 'success', uuid: NEW, name: 'web-new', state: 'starting'}])
    })
  api().get('/v1/instances', [{uuid: NEW}]).reply(200, envelope('instances', [instanceObject({uuid: NEW, name: 'web-new', image: 'nginx@sha256:ffff'})]))
  api().get('/v1/services', [{uuid: SVC_UUID}]).reply(200, envelope('service_groups', [serviceObject()]))
}

function record(calls: string[], name: string, body: unknown) {
  return () => {
    calls.push(name)
    return body as nock.Body
  }
}

const create = (...flags: string[]) => ukc(['instance', 'create', '--service', 'web', '--start', ...flags, ...TARGET, 'nginx:1.27'])

describe('instance create --rollout', () => {
  afterEach(() => nock.cleanAll())

  it('remove: creates the new instance, waits until it runs, then drains, stops and deletes the old one of the same image', async () => {
    const calls: string[] = []
    service(calls)
    api().get('/v1/instances/wait', [{uuid: NEW, state: 'running', timeout_ms: 30_000}]).reply(200, record(calls, 'wait new', envelope('instances', [{status: 'success', uuid: NEW, name: 'web-new', state: 'running'}])))
    api()
      .put('/v1/instances/stop', [{uuid: UUID1, force: false, drain_timeout_ms: 5000}])
      .reply(200, record(calls, 'stop old', envelope('instances', [{status: 'success', uuid: UUID1, name: 'web-old', state: 'draining', previous_state: 'running'}])))
    api().get('/v1/instances/wait', [{uuid: UUID1, state: 'stopped', timeout_ms: 15_000}]).reply(200, record(calls, 'wait old', envelope('instances', [{status: 'success', uuid: UUID1, name: 'web-old', state: 'stopped'}])))
    api().delete('/v1/instances', [{uuid: UUID1}]).reply(200, record(calls, 'delete old', envelope('instances', [{status: 'success', uuid: UUID1, name: 'web-old'}])))
    const {stderr, exitCode} = await create('--rollout', 'remove', '--rollout-wait', '30s', '--rollout-drain-timeout', '5s')
    assert.equal(exitCode, 0, stderr)
    assert.deepEqual(calls, ['create', 'wait new', 'stop old', 'wait old', 'delete old'])
    assert.match(stderr, /removing 1 existing instance\(s\)/)
    assert.deepEqual(nock.pendingMocks(), [])
  })

  it('stop: drains and stops the old instances (qualifier all), and deletes nothing', async () => {
    const calls: string[] = []
    service(calls)
    api().get('/v1/instances/wait').reply(200, envelope('instances', [{status: 'success', uuid: NEW, name: 'web-new', state: 'running'}]))
    const stop = api()
      .put('/v1/instances/stop', [{uuid: UUID1, force: false, drain_timeout_ms: 60_000}, {uuid: UUID2, force: false, drain_timeout_ms: 60_000}])
      .reply(200, envelope('instances', [{status: 'success', uuid: UUID1, name: 'web-old', state: 'stopped'}, {status: 'success', uuid: UUID2, name: 'cache', state: 'stopped'}]))
    const {exitCode, stderr} = await create('--rollout', 'stop', '--rollout-qualifier', 'all')
    assert.ok(stop.isDone())
    assert.equal(exitCode, 0, stderr)
    assert.match(stderr, /stopping 2 existing instance\(s\)/)
  })

  it('keeps the old instances when the new one is not running in time (the rollout is aborted)', async () => {
    const calls: string[] = []
    service(calls)
    api().get('/v1/instances/wait').reply(200, {status: 'error', data: {instances: [{status: 'error', uuid: NEW, name: 'web-new', error: 12, message: 'timed out waiting for state running'}]}})
    const {exitCode, stderr} = await create('--rollout', 'remove')
    assert.equal(exitCode, 1)
    assert.match(stderr, /Error: web-new: timed out waiting for state running/)
    assert.match(stderr, /aborting rollout: the new instance\(s\) are not running; the 1 existing instance\(s\) are kept/)
    assert.deepEqual(nock.pendingMocks(), [])
  })

  it('keep and a qualifier that matches nothing leave the service\'s instances alone', async () => {
    for (const flags of [['--rollout', 'keep'], ['--rollout-qualifier', 'none'], ['--rollout-qualifier', 'name', '--name', 'other']]) {
      nock.cleanAll()
      const calls: string[] = []
      service(calls)
      const {exitCode, stderr} = await create(...flags)
      assert.equal(exitCode, 0, `${flags.join(' ')}: ${stderr}`)
      assert.deepEqual(calls, ['create'])
    }
  })

  it('asks for a strategy: outside a terminal it fails before creating anything (exit 2); abort refuses (exit 5)', async () => {
    const calls: string[] = []
    service(calls)
    const prompt = await create()
    assert.equal(prompt.exitCode, 2)
    assert.equal(prompt.stderr, 'Error: deployment already exists: 1 instance(s) of web match --rollout-qualifier image (web-old)\nTry: choose what happens to them with --rollout stop|remove|keep|abort\n')
    nock.cleanAll()
    service(calls)
    const abort = await create('--rollout', 'abort')
    assert.equal(abort.exitCode, 5)
    assert.match(abort.stderr, /^Error: deployment already exists and merge strategy set to exit on conflict\n/)
    assert.deepEqual(calls, [])
  })
})

describe('instance create --wait-for-image', () => {
  afterEach(() => nock.cleanAll())

  it('polls GET /images/list until the image is there, then creates the instance', async () => {
    const notYet = api()
      .get('/v1/images/list', [{tag: 'alice/app:latest'}])
      .reply(200, {status: 'error', data: {images: [{status: 'error', error: 8, message: 'no image with name: alice/app:latest'}]}})
    const there = api()
      .get('/v1/images/list', [{tag: 'alice/app:latest'}])
      .reply(200, envelope('images', [{status: 'success', digest: 'alice/app@sha256:aa', tags: ['alice/app:latest']}]))
    const created = api().post('/v1/instances', (body: Record<string, unknown>) => body.image === 'alice/app:latest').reply(200, envelope('instances', [{status: 'success', uuid: UUID1, name: 'app'}]))
    api().get('/v1/instances').reply(200, envelope('instances', [instanceObject({service_group: undefined})]))
    const {exitCode, stderr} = await ukc(['instance', 'create', '--wait-for-image', ...TARGET, 'alice/app'])
    assert.equal(exitCode, 0, stderr)
    assert.ok(notYet.isDone() && there.isDone() && created.isDone())
  })

  it('gives up after --wait-for-image-timeout without creating anything (exit 4)', async () => {
    api().get('/v1/images/list').reply(200, envelope('images', []))
    const {exitCode, stderr} = await ukc(['instance', 'create', '--wait-for-image', '--wait-for-image-timeout', '1ms', ...TARGET, 'alice/app'])
    assert.equal(exitCode, 4)
    assert.match(stderr, /^Error: image alice\/app:latest is not available after 1 ms \(not listed yet\)\nTry: check the name with `ukc image list`/m)
    assert.deepEqual(nock.pendingMocks(), [])
  })
})
