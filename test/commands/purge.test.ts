import assert from 'node:assert/strict'
import {afterEach, beforeEach, describe, it} from 'node:test'

import {prompts} from '../../src/cli/index.js'
import {AUTH, SVC_UUID, TARGET, TOKEN, UUID1, UUID2, api, envelope, instanceObject, nock, serviceObject, ukc} from './harness.js'

const VOL = '99a38132-4f7d-4db2-8fa1-3d4e5f607182'
const CERT = 'aab49243-508e-4ec3-9ab2-4e5f60718293'
const gone = (uuid: string) => ({status: 'error', uuid, error: 8, message: 'instance not found'})

/** Every call the purge makes, in order, answered from `replies`. */
function recordCalls(replies: Record<string, unknown>): string[] {
  const calls: string[] = []
  for (const [call, body] of Object.entries(replies)) {
    const [method, path] = call.split(' ') as ['GET' | 'DELETE', string]
    const scope = api()
    ;(method === 'GET' ? scope.get(path) : scope.delete(path)).reply(200, (_uri, requestBody) => {
      calls.push(`${call}${requestBody ? ` ${JSON.stringify(requestBody)}` : ''}`)
      return body as nock.Body
    })
  }
  return calls
}

const everything = () => ({
  'GET /v1/instances': envelope('instances', [instanceObject(), instanceObject({uuid: UUID2, name: 'db'})]),
  'DELETE /v1/instances': envelope('instances', [{status: 'success', uuid: UUID1, name: 'nginx-1a747'}, {status: 'success', uuid: UUID2, name: 'db'}]),
  'GET /v1/services': envelope('service_groups', [serviceObject({instances: []})]),
  'DELETE /v1/services': envelope('service_groups', [{status: 'success', uuid: SVC_UUID, name: 'twilight-gorilla-ui5b6kwt'}]),
  'GET /v1/volumes': envelope('volumes', [{status: 'success', uuid: VOL, name: 'data'}]),
  'DELETE /v1/volumes': envelope('volumes', [{status: 'success', uuid: VOL, name: 'data'}]),
  'GET /v1/certificates': envelope('certificates', [{status: 'success', uuid: CERT, name: 'example.com-abcde'}]),
  'DELETE /v1/certificates': envelope('certificates', [{status: 'success', uuid: CERT, name: 'example.com-abcde'}]),
})

describe('purge', () => {
  afterEach(() => nock.cleanAll())

  it('removes instances, waits until they are gone, then services, volumes and certificates', async () => {
    const calls = recordCalls(everything())
    // The second GET /instances is the wait: both are gone.
    api().get('/v1/instances', [{uuid: UUID1}, {uuid: UUID2}]).reply(200, () => {
      calls.push('GET /v1/instances (wait)')
      return {status: 'error', data: {instances: [gone(UUID1), gone(UUID2)]}}
    })
    const {stdout, stderr, exitCode} = await ukc(['purge', '--yes', ...TARGET])
    assert.equal(exitCode, 0, stderr)
    assert.deepEqual(calls, [
      'GET /v1/instances',
      `DELETE /v1/instances [{"uuid":"${UUID1}"},{"uuid":"${UUID2}"}]`,
      'GET /v1/instances (wait)',
      'GET /v1/services',
      `DELETE /v1/services [{"uuid":"${SVC_UUID}"}]`,
      'GET /v1/volumes',
      `DELETE /v1/volumes [{"uuid":"${VOL}"}]`,
      'GET /v1/certificates',
      `DELETE /v1/certificates [{"uuid":"${CERT}"}]`,
    ])
    const lines = stdout.trimEnd().split('\n')
    assert.match(lines[0], /^METRO\s+KIND\s+NAME\s+UUID$/)
    assert.match(lines[1], new RegExp(`^http://api\\.test/v1\\s+instance\\s+nginx-1a747\\s+${UUID1}$`))
    assert.match(lines[4], /\s+volume\s+data\s+/)
    assert.equal(lines.length, 6)
    assert.match(stderr, /removing 2 instance\(s\)\n.*removing 1 service\(s\)\n.*removing 1 volume\(s\)\n.*removing 1 certificate\(s\)\n$/)
  })

  it('needs --yes outside a terminal (exit 2, nothing called)', async () => {
    const {stderr, exitCode} = await ukc(['purge', ...TARGET])
    assert.equal(exitCode, 2)
    assert.match(stderr, /^Error: purge removes every instance, service, volume and certificate on http:\/\/api\.test\/v1: pass --yes to confirm\nTry: there is no terminal to ask on\n$/)
  })

  it('stops at the first step that fails, with that failure\'s exit code', async () => {
    const replies: Record<string, unknown> = everything()
    replies['GET /v1/instances'] = envelope('instances', [])
    replies['DELETE /v1/services'] = {status: 'error', data: {service_groups: [{status: 'error', uuid: SVC_UUID, name: 'web', error: 15, message: 'service has instances attached'}]}}
    const calls = recordCalls(replies)
    const {stderr, exitCode} = await ukc(['purge', '--yes', ...TARGET])
    assert.equal(exitCode, 5)
    assert.match(stderr, /Error: web: service has instances attached\nError: purge of http:\/\/api\.test\/v1 stopped: 1 service\(s\) could not be removed\nTry: fix what is reported above, or pass --force to go on past failures\n$/)
    assert.ok(!calls.some((c) => c.includes('volumes') || c.includes('certificates')))
  })

  it('goes on past failures with --force, and skips a kind whose endpoint the API lacks', async () => {
    const replies: Record<string, unknown> = everything()
    replies['GET /v1/instances'] = envelope('instances', [])
    replies['DELETE /v1/services'] = {status: 'error', data: {service_groups: [{status: 'error', uuid: SVC_UUID, name: 'web', error: 15, message: 'service has instances attached'}]}}
    delete replies['GET /v1/volumes']
    delete replies['DELETE /v1/volumes']
    const calls = recordCalls(replies)
    api().get('/v1/volumes').reply(404, {status: 'error', message: 'No API endpoint GET /v1/volumes'})
    const {stdout, stderr, exitCode} = await ukc(['purge', '--force', ...TARGET])
    assert.equal(exitCode, 5)
    assert.match(stderr, /Error: web: service has instances attached/)
    assert.match(stderr, /skipping volumes: the API has no \/volumes endpoint \(No API endpoint GET \/v1\/volumes\)/)
    assert.ok(calls.includes(`DELETE /v1/certificates [{"uuid":"${CERT}"}]`))
    assert.match(stdout, /\scertificate\s+example\.com-abcde\s/)
  })

  it('purges every Unikraft Cloud metro that answers with --all, skipping the others', async () => {
    nock('https://api.fra.unikraft.cloud').get('/').reply(401)
    const cloud = nock('https://api.fra.unikraft.cloud', {reqheaders: {authorization: AUTH}})
    cloud.get('/v1/instances').reply(200, envelope('instances', []))
    cloud.get('/v1/services').reply(200, envelope('service_groups', []))
    cloud.get('/v1/volumes').reply(200, envelope('volumes', []))
    cloud.get('/v1/certificates').reply(200, envelope('certificates', []))
    const {stderr, exitCode} = await ukc(['purge', '--all', '--yes', '--metro', 'dal', '--token', TOKEN])
    assert.equal(exitCode, 0, stderr)
    assert.match(stderr, /skipping offline metro dal\n/)
    assert.match(stderr, /Nothing to remove on fra\.\n$/)
    assert.deepEqual(nock.pendingMocks(), [])
  })

  it('--json prints what was removed per metro', async () => {
    recordCalls({...everything(), 'GET /v1/instances': envelope('instances', []), 'GET /v1/volumes': envelope('volumes', []), 'GET /v1/certificates': envelope('certificates', [])})
    const {stdout} = await ukc(['p', '--yes', '--json', ...TARGET])
    const [result] = JSON.parse(stdout) as Array<{metro: string; services: Array<{name: string}>; volumes: unknown[]}>
    assert.equal(result.metro, 'http://api.test/v1')
    assert.deepEqual(result.services.map((s) => s.name), ['twilight-gorilla-ui5b6kwt'])
    assert.deepEqual(result.volumes, [])
  })
})

describe('purge on a terminal', () => {
  const original = {confirm: prompts.confirm, stdin: process.stdin.isTTY, stdout: process.stdout.isTTY, ci: process.env.CI}
  beforeEach(() => {
    delete process.env.CI
    process.stdin.isTTY = true
    process.stdout.isTTY = true
  })
  afterEach(() => {
    prompts.confirm = original.confirm
    process.stdin.isTTY = original.stdin
    process.stdout.isTTY = original.stdout
    if (original.ci !== undefined) process.env.CI = original.ci
    nock.cleanAll()
  })

  it('asks first, and removes nothing on no (exit 2)', async () => {
    const asked: string[] = []
    prompts.confirm = async (message: string) => {
      asked.push(message)
      return false
    }
    const {stderr, exitCode} = await ukc(['purge', ...TARGET])
    assert.deepEqual(asked, ['Remove every instance, service, volume and certificate on http://api.test/v1?'])
    assert.equal(exitCode, 2)
    assert.match(stderr, /^Error: aborted\n/)
  })
})
