import assert from 'node:assert/strict'
import {afterEach, describe, it} from 'node:test'

import {TARGET, UUID1, UUID2, api, envelope, instanceObject, nock, notFound, serviceObject, ukc} from './harness.js'

const b64 = (text: string) => Buffer.from(text).toString('base64')
function logItem(who: {uuid: string; name: string}, text: string, start: number, state = 'running') {
  const end = start + Buffer.byteLength(text)
  return {status: 'success', ...who, output: b64(text), range: {start, end}, available: {start: 0, end}, state}
}
const A = {uuid: UUID1, name: 'web-a'}
const B = {uuid: UUID2, name: 'web-bb'}
const twoInstances = () => api().get('/v1/services', [{name: 'web'}]).reply(200, envelope('service_groups', [serviceObject({name: 'web', instances: [A, B]})]))

describe('service logs', () => {
  afterEach(() => nock.cleanAll())

  it('prints the consoles of every instance of the service, prefixed by instance name', async () => {
    twoInstances()
    const a = api().get('/v1/instances/log', [{uuid: UUID1, offset: -16383, limit: 16383}]).reply(200, envelope('instances', [logItem(A, 'listening\nok\n', 0)]))
    const b = api().get('/v1/instances/log', [{uuid: UUID2, offset: -16383, limit: 16383}]).reply(200, envelope('instances', [logItem(B, 'ready\n', 0)]))
    const {stdout, exitCode} = await ukc(['service', 'logs', 'web', ...TARGET])
    assert.ok(a.isDone() && b.isDone())
    assert.equal(exitCode, 0)
    assert.equal(stdout, 'web-a  | listening\nweb-a  | ok\nweb-bb | ready\n')
  })

  it('leaves the prefix out with --no-prefix and keeps only the last lines with --tail', async () => {
    twoInstances()
    api().get('/v1/instances/log', [{uuid: UUID1, offset: -16383, limit: 16383}]).reply(200, envelope('instances', [logItem(A, 'one\ntwo\nthree\n', 0)]))
    api().get('/v1/instances/log', [{uuid: UUID2, offset: -16383, limit: 16383}]).reply(200, envelope('instances', [logItem(B, 'four\nfive\n', 0)]))
    const {stdout} = await ukc(['svc', 'log', 'web', '--no-prefix', '--tail', '1', ...TARGET])
    assert.equal(stdout, 'three\nfive\n')
  })

  it('follows every instance until all have stopped', async () => {
    twoInstances()
    api().get('/v1/instances/log', [{uuid: UUID1, offset: -16383, limit: 16383}]).reply(200, envelope('instances', [logItem(A, 'a1\n', 0)]))
    api().get('/v1/instances/log', [{uuid: UUID2, offset: -16383, limit: 16383}]).reply(200, envelope('instances', [logItem(B, 'b1\n', 0)]))
    api().get('/v1/instances/log', [{uuid: UUID1, offset: 3, limit: 16383}]).reply(200, envelope('instances', [logItem(A, 'a2\n', 3, 'stopped')]))
    api().get('/v1/instances/log', [{uuid: UUID2, offset: 3, limit: 16383}]).reply(200, envelope('instances', [logItem(B, '', 3, 'stopped')]))
    api().get('/v1/instances', [{uuid: UUID1}]).reply(200, envelope('instances', [instanceObject({...A, state: 'stopped', stop_reason: 15})]))
    api().get('/v1/instances', [{uuid: UUID2}]).reply(200, envelope('instances', [instanceObject({...B, state: 'stopped', stop_reason: 3, exit_code: 2})]))
    const {stdout, stderr, exitCode} = await ukc(['service', 'logs', 'web', '--follow', ...TARGET])
    assert.equal(exitCode, 0)
    assert.equal(stdout, 'web-a  | a1\nweb-bb | b1\nweb-a  | a2\n')
    assert.match(stderr, /^web-a: The instance has exited \(stopped by user\)\.$/m)
    assert.match(stderr, /^web-bb: The instance has exited \(exited with code 2\)\.$/m)
    assert.deepEqual(nock.pendingMocks(), [])
  })

  it('says when the service has no instances (exit 0) and exits 4 for a missing service', async () => {
    api().get('/v1/services').reply(200, envelope('service_groups', [serviceObject({name: 'empty', instances: []})]))
    const empty = await ukc(['service', 'logs', 'empty', ...TARGET])
    assert.equal(empty.exitCode, 0)
    assert.equal(empty.stdout, '')
    assert.equal(empty.stderr, 'empty: no instances\n')

    api().get('/v1/services', [{name: 'ghost'}]).reply(200, notFound('service_groups', 'ghost', 'service'))
    const missing = await ukc(['service', 'logs', 'ghost', ...TARGET])
    assert.equal(missing.exitCode, 4)
    assert.equal(missing.stderr, 'Error: ghost: service not found\n')
  })
})
