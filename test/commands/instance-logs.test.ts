import assert from 'node:assert/strict'
import {afterEach, describe, it} from 'node:test'

import {TARGET, UUID1, UUID2, api, envelope, instanceObject, nock, notFound, ukc} from './harness.js'

const b64 = (text: string) => Buffer.from(text).toString('base64')
function logItem(text: string, range: {start: number; end: number}, available: {start: number; end: number}, state = 'running', who = {uuid: UUID1, name: 'web'}) {
  return {status: 'success', ...who, output: b64(text), range, available, state}
}

describe('instance logs', () => {
  afterEach(() => nock.cleanAll())

  it('prints what exists and exits without --follow, even while the instance runs', async () => {
    const text = 'booting\nlistening on :8080\n'
    const scope = api()
      .get('/v1/instances/log', [{name: 'web', offset: -16383, limit: 16383}])
      .reply(200, envelope('instances', [logItem(text, {start: 0, end: text.length}, {start: 0, end: text.length})]))
    const {stdout, exitCode} = await ukc(['instance', 'logs', 'web', ...TARGET])
    assert.ok(scope.isDone())
    assert.equal(exitCode, 0)
    assert.equal(stdout, text)
    assert.deepEqual(nock.pendingMocks(), [])
  })

  it('pages backwards until the beginning of what is available', async () => {
    const older = 'first line\n'
    const newer = 'second line\nthird line\n'
    api()
      .get('/v1/instances/log', [{name: 'web', offset: -16383, limit: 16383}])
      .reply(200, envelope('instances', [logItem(newer, {start: 100, end: 100 + newer.length}, {start: 89, end: 100 + newer.length})]))
    const scope = api()
      .get('/v1/instances/log', [{uuid: UUID1, offset: 89, limit: 11}])
      .reply(200, envelope('instances', [logItem(older, {start: 89, end: 100}, {start: 89, end: 100 + newer.length})]))
    const {stdout} = await ukc(['instance', 'log', 'web', ...TARGET])
    assert.ok(scope.isDone())
    assert.equal(stdout, older + newer)
  })

  it('keeps a character split between two windows whole while following', async () => {
    const euro = Buffer.from('€\n') // 3 bytes of UTF-8, then a newline
    const part = (buf: Buffer) => buf.toString('base64')
    api().get('/v1/instances/log').reply(200, envelope('instances', [{...logItem('', {start: 0, end: 0}, {start: 0, end: 0}), output: ''}]))
    api()
      .get('/v1/instances/log', [{uuid: UUID1, offset: 0, limit: 16383}])
      .reply(200, envelope('instances', [{...logItem('', {start: 0, end: 2}, {start: 0, end: 2}), output: part(euro.subarray(0, 2))}]))
    api()
      .get('/v1/instances/log', [{uuid: UUID1, offset: 2, limit: 16383}])
      .reply(200, envelope('instances', [{...logItem('', {start: 2, end: 4}, {start: 0, end: 4}, 'stopped'), output: part(euro.subarray(2))}]))
    api().get('/v1/instances').reply(200, envelope('instances', [instanceObject({state: 'stopped', stop_reason: 15})]))
    const {stdout} = await ukc(['instance', 'logs', 'web', '--follow', ...TARGET])
    assert.equal(stdout, '€\n')
  })

  it('prints only the last N lines with --tail', async () => {
    const text = 'one\ntwo\nthree\nfour\n'
    api().get('/v1/instances/log').reply(200, envelope('instances', [logItem(text, {start: 0, end: text.length}, {start: 0, end: text.length})]))
    const {stdout} = await ukc(['instance', 'logs', 'web', '--tail', '2', ...TARGET])
    assert.equal(stdout, 'three\nfour\n')
  })

  it('follows new output and ends when the instance exits', async () => {
    const first = 'hello\n'
    const more = 'crashing\n'
    api().get('/v1/instances/log', [{name: 'web', offset: -16383, limit: 16383}]).reply(200, envelope('instances', [logItem(first, {start: 0, end: 6}, {start: 0, end: 6})]))
    api().get('/v1/instances/log', [{uuid: UUID1, offset: 6, limit: 16383}]).reply(200, envelope('instances', [logItem(more, {start: 6, end: 15}, {start: 0, end: 15})]))
    api().get('/v1/instances/log', [{uuid: UUID1, offset: 15, limit: 16383}]).reply(200, envelope('instances', [logItem('', {start: 15, end: 15}, {start: 0, end: 15}, 'stopped')]))
    api().get('/v1/instances', [{uuid: UUID1}]).reply(200, envelope('instances', [instanceObject({state: 'stopped', stop_reason: 3, exit_code: 1})]))
    const {stdout, stderr, exitCode} = await ukc(['instance', 'logs', 'web', '--follow', ...TARGET])
    assert.equal(exitCode, 0)
    assert.equal(stdout, 'hello\ncrashing\n')
    assert.match(stderr, /^The instance has exited \(exited with code 1\)\.$/m)
    assert.deepEqual(nock.pendingMocks(), [])
  })

  it('stops following on Ctrl-C, prints what was pending and exits 0 (the one policy of long-running commands)', async () => {
    api().get('/v1/instances/log', [{name: 'web', offset: -16383, limit: 16383}]).reply(200, envelope('instances', [logItem('up\n', {start: 0, end: 3}, {start: 0, end: 3})]))
    api()
      .get('/v1/instances/log', [{uuid: UUID1, offset: 3, limit: 16383}])
      .reply(200, () => {
        // The user presses Ctrl-C while the instance keeps running.
        setImmediate(() => process.emit('SIGINT'))
        return envelope('instances', [logItem('', {start: 3, end: 3}, {start: 0, end: 3})])
      })
    const {stdout, exitCode} = await ukc(['instance', 'logs', 'web', '-f', ...TARGET])
    assert.equal(stdout, 'up\n')
    assert.equal(exitCode, 0)
    assert.equal(process.listenerCount('SIGINT'), 0, 'the SIGINT handler is removed')
  })

  it('prefixes lines with padded names for several instances, or not with --no-prefix', async () => {
    const reply = () => {
      api().get('/v1/instances/log', [{name: 'web', offset: -16383, limit: 16383}]).reply(200, envelope('instances', [logItem('a\nb\n', {start: 0, end: 4}, {start: 0, end: 4})]))
      api()
        .get('/v1/instances/log', [{name: 'database', offset: -16383, limit: 16383}])
        .reply(200, envelope('instances', [logItem('c\n', {start: 0, end: 2}, {start: 0, end: 2}, 'running', {uuid: UUID2, name: 'database'})]))
    }
    reply()
    const prefixed = await ukc(['instance', 'logs', 'web', 'database', ...TARGET])
    assert.equal(prefixed.stdout, 'web      | a\nweb      | b\ndatabase | c\n')
    reply()
    const plain = await ukc(['instance', 'logs', 'web', 'database', '--no-prefix', ...TARGET])
    assert.equal(plain.stdout, 'a\nb\nc\n')
  })

  it('exits 4 for an instance that does not exist', async () => {
    api().get('/v1/instances/log').reply(200, notFound('instances', 'ghost'))
    const {stderr, exitCode} = await ukc(['instance', 'logs', 'ghost', ...TARGET])
    assert.equal(exitCode, 4)
    assert.equal(stderr, 'Error: ghost: instance not found\n')
  })
})
