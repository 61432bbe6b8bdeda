import assert from 'node:assert/strict'
import http from 'node:http'
import type {AddressInfo} from 'node:net'
import {afterEach, describe, it} from 'node:test'

import {TARGET, TOKEN, UUID2, api, envelope, instanceObject, nock, ukc} from './harness.js'

const privateInstance = instanceObject({
  uuid: UUID2,
  name: 'backend',
  state: 'stopped',
  service_group: undefined,
  private_fqdn: 'backend.internal',
  private_ip: '172.16.3.4',
  stop_reason: 15,
  stop_code: 0,
  exit_code: 0,
  memory_mb: 1024,
  args: [],
  uptime_ms: undefined,
})

describe('instance list', () => {
  afterEach(() => nock.cleanAll())

  it('GETs /instances without a body and prints kraft\'s table', async () => {
    const scope = api().get('/v1/instances', (body) => body === '' || body === undefined).reply(200, envelope('instances', [instanceObject(), privateInstance]))
    const {stdout, stderr, exitCode} = await ukc(['instance', 'list', ...TARGET])
    assert.ok(scope.isDone())
    assert.equal(exitCode, 0)
    assert.equal(stderr, '')
    const lines = stdout.trimEnd().split('\n')
    assert.match(lines[0], /^NAME\s+FQDN\s+STATE\s+STATUS\s+IMAGE\s+MEMORY\s+VCPUS\s+ARGS\s+BOOT TIME$/)
    assert.match(lines[1], /^nginx-1a747\s+twilight-gorilla-ui5b6kwt\.fra0\.kraft\.host\s+running\s+since 2hrs 3mins\s+nginx@sha256:\S+\s+128 MiB\s+1\s+\/usr\/bin\/nginx -c \/etc\/nginx\/nginx\.conf\s+19\.81 ms$/)
    // No service: the private FQDN stands in; a user stop reads as such; 1024 MiB as GiB.
    assert.match(lines[2], /^backend\s+backend\.internal\s+stopped\s+stopped by user\s+\S+\s+1\.0 GiB\s+1\s+19\.81 ms$/)
    assert.ok(!stdout.includes('\u001b['), 'no ANSI codes')
  })

  it('says so in words when there are no instances, and prints [] under --json', async () => {
    api().get('/v1/instances').reply(200, {status: 'success', data: {instances: []}})
    const empty = await ukc(['instance', 'list', ...TARGET])
    assert.equal(empty.exitCode, 0)
    assert.equal(empty.stdout, '')
    assert.match(empty.stderr, /^No instances\. Create one with `ukc instance create IMAGE`\.$/m)
    api().get('/v1/instances').reply(200, {status: 'success', data: {}})
    const json = await ukc(['instance', 'list', '--json', ...TARGET])
    assert.deepEqual(JSON.parse(json.stdout), [])
    assert.equal(json.stderr, '')
  })

  it('answers to kraft\'s aliases', async () => {
    for (const words of [['inst', 'ls'], ['instances', 'list'], ['vm', 'ls'], ['vms', 'list'], ['instance', 'ls']]) {
      api().get('/v1/instances').reply(200, envelope('instances', [instanceObject()]))
      const {stdout, exitCode} = await ukc([...words, ...TARGET])
      assert.equal(exitCode, 0, words.join(' '))
      assert.match(stdout, /^NAME\s+FQDN/, words.join(' '))
    }
  })

  it('prints every kraft column in the list format', async () => {
    api().get('/v1/instances').reply(200, envelope('instances', [instanceObject({volumes: [{uuid: 'v', name: 'data', at: '/data', readonly: true}]})]))
    const {stdout} = await ukc(['instance', 'list', '-o', 'list', ...TARGET])
    for (const line of [
      /^ +uuid: 66d05e09-1c4a-4a8f-9c7e-0a1b2c3d4e5f$/m,
      /^ +private fqdn: nginx-1a747\.internal$/m,
      /^ +private ip: 172\.16\.3\.3$/m,
      /^ +restart policy: never$/m,
      /^ +env: PORT=8080$/m,
      /^ +volumes: data:\/data:ro$/m,
      /^ +service: twilight-gorilla-ui5b6kwt$/m,
      /^ +scale to zero: off$/m,
      /^scale to zero cooldown: 1000ms$/m,
      /^ +boot time: 19\.81 ms$/m,
      /^ +up time: 2hrs 3mins$/m,
    ]) {
      assert.match(stdout, line)
    }
    assert.match(stdout, /^scale to zero stateful: false$/m, 'the longest key is not indented')
  })

  it('prints the API objects with --json and -o json, and the body with -o raw', async () => {
    const body = envelope('instances', [instanceObject()])
    api().get('/v1/instances').reply(200, body)
    const json = await ukc(['instance', 'list', '--json', ...TARGET])
    assert.deepEqual(JSON.parse(json.stdout), body.data.instances)
    api().get('/v1/instances').reply(200, body)
    const dashO = await ukc(['instance', 'list', '-o', 'json', ...TARGET])
    assert.deepEqual(JSON.parse(dashO.stdout), body.data.instances)
    api().get('/v1/instances').reply(200, JSON.stringify(body))
    const raw = await ukc(['instance', 'list', '-o', 'raw', ...TARGET])
    assert.equal(raw.stdout, `${JSON.stringify(body)}\n`)
  })

  it('prints nothing for no instances', async () => {
    api().get('/v1/instances').reply(200, {status: 'success', data: {}})
    const {stdout, exitCode} = await ukc(['instance', 'list', ...TARGET])
    assert.equal(stdout, '')
    assert.equal(exitCode, 0)
  })

  it('exits 3 on 401, 2 on 400, 7 on 503', async () => {
    api().get('/v1/instances').reply(401, {status: 'error', message: 'Unauthorized'})
    const denied = await ukc(['instance', 'list', ...TARGET])
    assert.equal(denied.exitCode, 3)
    assert.match(denied.stderr, /^Error: not authorized \(HTTP 401\): Unauthorized\nTry: run `ukc login` or set UKC_TOKEN\n$/)
    assert.ok(!denied.stderr.includes(TOKEN), 'the token is never printed')

    api().get('/v1/instances').reply(400, {status: 'error', message: 'Malformed request'})
    assert.equal((await ukc(['instance', 'list', ...TARGET])).exitCode, 2)

    const scope = api().get('/v1/instances').times(3).reply(503, {status: 'error', message: 'Service Unavailable'})
    const down = await ukc(['instance', 'list', ...TARGET])
    assert.ok(scope.isDone(), 'an idempotent GET is retried')
    assert.equal(down.exitCode, 7)
    assert.match(down.stderr, /HTTP 503/)
  })

  it('exits 7 when the API refuses connections', async () => {
    const server = http.createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const {port} = server.address() as AddressInfo
    await new Promise<void>((resolve) => server.close(() => resolve()))
    const {exitCode, stderr} = await ukc(['instance', 'list', '--metro', `http://127.0.0.1:${port}/v1`, '--token', TOKEN])
    assert.equal(exitCode, 7)
    assert.match(stderr, /could not reach the API at http:\/\/127\.0\.0\.1:\d+\/v1\/instances: ECONNREFUSED/)
  })

  it('exits 3 for a malformed token without calling the API', async () => {
    const {exitCode, stderr} = await ukc(['instance', 'list', '--metro', 'http://api.test/v1', '--token', 'bm90LWEtdG9rZW4='])
    assert.equal(exitCode, 3)
    assert.match(stderr, /invalid token format/)
  })
})
