import assert from 'node:assert/strict'
import {afterEach, describe, it} from 'node:test'

import {TARGET, UUID1, UUID2, api, envelope, instanceObject, nock, notFound, ukc} from './harness.js'

const transition = (name: string, uuid: string, state: string, previous: string) => ({status: 'success', uuid, name, state, previous_state: previous})

describe('instance start', () => {
  afterEach(() => nock.cleanAll())

  it('PUTs /instances/start with the wait timeout and prints the new states', async () => {
    const scope = api()
      .put('/v1/instances/start', [{name: 'web', wait_timeout_ms: 10_000}, {uuid: UUID2, wait_timeout_ms: 10_000}])
      .reply(200, envelope('instances', [transition('web', UUID1, 'running', 'stopped'), transition('db', UUID2, 'running', 'stopped')]))
    const {stdout, stderr, exitCode} = await ukc(['instance', 'str', 'web', UUID2, '--wait', '10s', ...TARGET])
    assert.ok(scope.isDone())
    assert.equal(exitCode, 0)
    assert.equal(stderr, 'starting 2 instance(s)\n')
    assert.match(stdout, /^NAME\s+UUID\s+STATE\s+PREVIOUS STATE\nweb\s+\S+\s+running\s+stopped\ndb\s+/)
  })

  it('starts every instance with --all', async () => {
    api().get('/v1/instances').reply(200, envelope('instances', [instanceObject({state: 'stopped'})]))
    const scope = api().put('/v1/instances/start', [{uuid: UUID1}]).reply(200, envelope('instances', [transition('nginx-1a747', UUID1, 'starting', 'stopped')]))
    const {exitCode} = await ukc(['instance', 'start', '--all', ...TARGET])
    assert.ok(scope.isDone())
    assert.equal(exitCode, 0)
  })

  it('needs a name or --all (exit 2) and reports missing instances (exit 4)', async () => {
    const none = await ukc(['instance', 'start', ...TARGET])
    assert.equal(none.exitCode, 2)
    assert.match(none.stderr, /either specify an instance name or UUID, or use the --all flag/)

    api().put('/v1/instances/start', [{name: 'ghost'}]).reply(200, notFound('instances', 'ghost'))
    const missing = await ukc(['instance', 'start', 'ghost', ...TARGET])
    assert.equal(missing.exitCode, 4)
    assert.equal(missing.stderr, 'starting 1 instance(s)\nError: ghost: instance not found\n')
  })
})

describe('instance stop', () => {
  afterEach(() => nock.cleanAll())

  it('PUTs /instances/stop with force and the drain timeout', async () => {
    const scope = api()
      .put('/v1/instances/stop', [{name: 'web', force: true, drain_timeout_ms: 30_000}])
      .reply(200, envelope('instances', [transition('web', UUID1, 'stopping', 'running')]))
    const {stdout, exitCode} = await ukc(['instance', 'st', 'web', '--force', '--wait', '30s', ...TARGET])
    assert.ok(scope.isDone())
    assert.equal(exitCode, 0)
    assert.match(stdout, /^web\s+\S+\s+stopping\s+running$/m)
  })

  it('accepts the deprecated --drain-timeout, but not together with --wait', async () => {
    const scope = api().put('/v1/instances/stop', [{name: 'web', force: false, drain_timeout_ms: 5000}]).reply(200, envelope('instances', [transition('web', UUID1, 'stopped', 'running')]))
    const old = await ukc(['instance', 'stop', 'web', '-d', '5s', ...TARGET])
    assert.ok(scope.isDone())
    assert.equal(old.exitCode, 0)
    const both = await ukc(['instance', 'stop', 'web', '-d', '5s', '-w', '5s', ...TARGET])
    assert.equal(both.exitCode, 2)
    assert.match(both.stderr, /cannot also be provided when using/)
  })

  it('stops everything with --all --yes and reports partial failures', async () => {
    api().get('/v1/instances').reply(200, envelope('instances', [instanceObject(), instanceObject({uuid: UUID2, name: 'db'})]))
    api()
      .put('/v1/instances/stop', [{uuid: UUID1, force: false}, {uuid: UUID2, force: false}])
      .reply(200, {
        status: 'partial_success',
        data: {instances: [transition('nginx-1a747', UUID1, 'stopped', 'running'), {status: 'error', uuid: UUID2, name: 'db', error: 11, message: 'instance is in the wrong state'}]},
      })
    const {stdout, stderr, exitCode} = await ukc(['instance', 'stop', '--all', '--yes', ...TARGET])
    // code 11 (wrong state) is a conflict: exit 5, as the README's exit-code table says
    assert.equal(exitCode, 5)
    assert.match(stdout, /nginx-1a747/)
    assert.doesNotMatch(stdout, /\bdb\b/)
    assert.match(stderr, /Error: db: instance is in the wrong state\n/)
  })

  it('needs a name or --all', async () => {
    const {exitCode, stderr} = await ukc(['instance', 'stop', ...TARGET])
    assert.equal(exitCode, 2)
    assert.match(stderr, /either specify an instance UUID or --all flag/)
  })
})

describe('instance restart', () => {
  afterEach(() => nock.cleanAll())

  it('stops, waits for stopped, then starts', async () => {
    const stop = api().put('/v1/instances/stop', [{name: 'web', force: false}]).reply(200, envelope('instances', [transition('web', UUID1, 'stopping', 'running')]))
    const wait = api()
      .get('/v1/instances/wait', [{uuid: UUID1, state: 'stopped', timeout_ms: 60_000}])
      .reply(200, envelope('instances', [{status: 'success', uuid: UUID1, name: 'web', state: 'stopped'}]))
    const start = api()
      .put('/v1/instances/start', [{uuid: UUID1, wait_timeout_ms: 2000}])
      .reply(200, envelope('instances', [transition('web', UUID1, 'running', 'stopped')]))
    const {stdout, exitCode} = await ukc(['instance', 'rr', 'web', '--wait', '2s', ...TARGET])
    assert.ok(stop.isDone() && wait.isDone() && start.isDone())
    assert.equal(exitCode, 0)
    assert.match(stdout, /^web\s+\S+\s+running\s+stopped$/m)
  })

  it('does not start what it could not stop, and exits 4 for a missing instance', async () => {
    api().put('/v1/instances/stop').reply(200, notFound('instances', 'ghost'))
    const {exitCode, stderr} = await ukc(['instance', 'restart', 'ghost', ...TARGET])
    assert.equal(exitCode, 4)
    assert.match(stderr, /Error: ghost: instance not found/)
  })
})

describe('instance remove', () => {
  afterEach(() => nock.cleanAll())

  it('DELETEs /instances with the refs in the body', async () => {
    const scope = api()
      .delete('/v1/instances', [{name: 'web'}, {uuid: UUID2}])
      .reply(200, envelope('instances', [transition('web', UUID1, 'stopped', 'running'), transition('db', UUID2, 'stopped', 'stopped')]))
    const {stderr, exitCode} = await ukc(['instance', 'rm', 'web', UUID2, ...TARGET])
    assert.ok(scope.isDone())
    assert.equal(exitCode, 0)
    assert.equal(stderr, 'removing 2 instance(s)\n')
  })

  it('removes only stopped instances with --stopped', async () => {
    api().get('/v1/instances').reply(200, envelope('instances', [instanceObject(), instanceObject({uuid: UUID2, name: 'db', state: 'stopped'})]))
    const scope = api().delete('/v1/instances', [{uuid: UUID2}]).reply(200, envelope('instances', [transition('db', UUID2, 'stopped', 'stopped')]))
    const {exitCode} = await ukc(['instance', 'del', '--stopped', ...TARGET])
    assert.ok(scope.isDone())
    assert.equal(exitCode, 0)
  })

  it("refuses kraft's invalid combinations", async () => {
    const both = await ukc(['instance', 'remove', '--all', '--stopped', ...TARGET])
    assert.equal(both.exitCode, 2)
    assert.match(both.stderr, /^Error: cannot use --stopped and --all together$/m)
    const none = await ukc(['instance', 'delete', ...TARGET])
    assert.equal(none.exitCode, 2)
    assert.match(none.stderr, /^Error: either specify an instance name or UUID, or use the --all flag$/m)
  })

  it('exits 4 for an instance that does not exist', async () => {
    api().delete('/v1/instances', [{name: 'ghost'}]).reply(200, notFound('instances', 'ghost'))
    const {exitCode} = await ukc(['instance', 'remove', 'ghost', ...TARGET])
    assert.equal(exitCode, 4)
  })
})
