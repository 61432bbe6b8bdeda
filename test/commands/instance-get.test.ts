import assert from 'node:assert/strict'
import {afterEach, describe, it} from 'node:test'

import {TARGET, UUID1, api, envelope, instanceObject, nock, notFound, ukc} from './harness.js'

describe('instance get', () => {
  afterEach(() => nock.cleanAll())

  it('GETs the named instances (names as name, UUIDs as uuid) and prints the list format', async () => {
    const scope = api()
      .get('/v1/instances', [{name: 'nginx-1a747'}, {uuid: UUID1}])
      .reply(200, envelope('instances', [instanceObject(), instanceObject()]))
    const {stdout, exitCode} = await ukc(['instance', 'get', 'nginx-1a747', UUID1.toUpperCase(), ...TARGET])
    assert.ok(scope.isDone())
    assert.equal(exitCode, 0)
    assert.equal(stdout.split('\n\n').length, 2, 'one block per instance')
    assert.match(stdout, /^ +name: nginx-1a747$/m)
  })

  it('answers to status and info, and prints a table with -o table', async () => {
    for (const verb of ['status', 'info']) {
      api().get('/v1/instances', [{name: 'nginx-1a747'}]).reply(200, envelope('instances', [instanceObject()]))
      const {stdout} = await ukc(['inst', verb, 'nginx-1a747', '-o', 'table', ...TARGET])
      assert.match(stdout, /^NAME\s+FQDN\s+STATE/)
    }
  })

  it('exits 4 for an instance that does not exist', async () => {
    api().get('/v1/instances', [{name: 'ghost'}]).reply(200, notFound('instances', 'ghost'))
    const {stdout, stderr, exitCode} = await ukc(['instance', 'get', 'ghost', ...TARGET])
    assert.equal(exitCode, 4)
    assert.equal(stdout, '')
    assert.equal(stderr, 'Error: ghost: instance not found\n')
  })

  it('prints what was found, reports the rest on stderr and exits 4 (partial success)', async () => {
    api()
      .get('/v1/instances', [{name: 'nginx-1a747'}, {name: 'ghost'}])
      .reply(200, {
        status: 'partial_success',
        message: 'one or more instances failed',
        data: {instances: [instanceObject(), {status: 'error', name: 'ghost', error: 8, message: 'instance not found'}]},
      })
    const {stdout, stderr, exitCode} = await ukc(['instance', 'get', 'nginx-1a747', 'ghost', ...TARGET])
    assert.equal(exitCode, 4)
    assert.match(stdout, /name: nginx-1a747/)
    assert.doesNotMatch(stdout, /ghost/)
    assert.equal(stderr, 'Error: ghost: instance not found\n')
  })

  it('under --json prints every item, failed ones included, and still exits 4', async () => {
    const failed = {status: 'error', name: 'ghost', error: 8, message: 'instance not found'}
    api().get('/v1/instances').reply(200, {status: 'partial_success', data: {instances: [instanceObject(), failed]}})
    const {stdout, exitCode} = await ukc(['instance', 'get', 'nginx-1a747', 'ghost', '--json', ...TARGET])
    assert.equal(exitCode, 4)
    const printed = JSON.parse(stdout) as Array<{name: string}>
    assert.deepEqual(printed.map((i) => i.name), ['nginx-1a747', 'ghost'])
  })

  it('exits 2 with a usage error when no instance is named', async () => {
    const {exitCode, stderr} = await ukc(['instance', 'get', ...TARGET])
    assert.equal(exitCode, 2)
    assert.match(stderr, /^Error: missing argument INSTANCE\nTry: ukc instance get INSTANCE\.\.\. \[FLAGS\]/)
  })
})
