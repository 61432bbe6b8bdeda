import assert from 'node:assert/strict'
import {afterEach, describe, it} from 'node:test'

import {SVC_UUID, TARGET, UUID1, UUID2, api, envelope, nock, serviceObject, ukc} from './harness.js'

/** A configured service as `GET /services/autoscale` answers it. */
function config(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    status: 'success',
    uuid: SVC_UUID,
    name: 'web',
    enabled: true,
    min_size: 1,
    max_size: 10,
    warmup_time_ms: 1000,
    cooldown_time_ms: 2000,
    master: {uuid: UUID1, name: 'web-master'},
    policies: [
      {name: 'busy', type: 'step', metric: 'cpu', adjustment_type: 'change', steps: [{upper_bound: 20, adjustment: -1}, {lower_bound: 20, upper_bound: 60, adjustment: 0}, {lower_bound: 60, adjustment: 2}]},
      {name: 'reqs', type: 'step', metric: 'inflight_reqs', adjustment_type: 'exact', steps: [{lower_bound: 0, adjustment: 1}]},
    ],
    ...overrides,
  }
}

describe('scale init', () => {
  afterEach(() => nock.cleanAll())

  it('POSTs /services/autoscale with kraft\'s fields, then prints the configuration', async () => {
    const scope = api()
      .post('/v1/services/autoscale', {name: 'web', min_size: 1, max_size: 4, warmup_time_ms: 500, cooldown_time_ms: 2000, master: {name: 'web-master'}})
      .reply(200, envelope('service_groups', [{status: 'success', uuid: SVC_UUID, name: 'web'}]))
    api().get('/v1/services/autoscale', [{name: 'web'}]).reply(200, envelope('service_groups', [config({max_size: 4, warmup_time_ms: 500})]))
    const {stdout, exitCode} = await ukc(['scale', 'init', 'web', '--master', 'web-master', '--min-size', '1', '--max-size', '4', '--warmup-time', '500ms', '--cooldown-time', '2s', ...TARGET])
    assert.ok(scope.isDone())
    assert.equal(exitCode, 0)
    assert.match(stdout, new RegExp(`^ +uuid: ${SVC_UUID}$`, 'm'))
    assert.match(stdout, /^ +enabled: true$/m)
    assert.match(stdout, /^ +max size: 4$/m)
    assert.match(stdout, /^ {2}warmup \(ms\): 500$/m)
    assert.match(stdout, /^ +master: 66d05e09/m)
    assert.match(stdout, /^ +policies: busy;reqs$/m)
  })

  it('takes the service\'s only instance as master when --master is missing (kraft\'s aliases work)', async () => {
    api().get('/v1/services', [{name: 'web'}]).reply(200, envelope('service_groups', [serviceObject({name: 'web', instances: [{uuid: UUID1, name: 'only-one'}]})]))
    const scope = api()
      .post('/v1/services/autoscale', (body: Record<string, unknown>) => JSON.stringify(body.master) === JSON.stringify({name: 'only-one'}) && body.max_size === 10 && body.warmup_time_ms === 1000)
      .reply(200, envelope('service_groups', [{status: 'success', uuid: SVC_UUID, name: 'web'}]))
    api().get('/v1/services/autoscale').reply(200, envelope('service_groups', [config()]))
    const {stderr, exitCode} = await ukc(['autoscale', 'initialize', 'web', ...TARGET])
    assert.ok(scope.isDone())
    assert.equal(exitCode, 0)
    assert.match(stderr, /using only-one, the only instance of web, as master/)
  })

  it('needs --master outside a terminal when the service has several instances (exit 2), and checks sizes and times', async () => {
    api().get('/v1/services').reply(200, envelope('service_groups', [serviceObject({name: 'web', instances: [{uuid: UUID1, name: 'a'}, {uuid: UUID2, name: 'b'}]})]))
    const several = await ukc(['scale', 'init', 'web', ...TARGET])
    assert.equal(several.exitCode, 2)
    assert.match(several.stderr, /^Error: service web has 2 instances: specify the master instance via --master\nTry: e\.g\. --master a\n$/)

    const sizes = await ukc(['scale', 'init', 'web', '--master', 'm', '--min-size', '5', '--max-size', '2', ...TARGET])
    assert.equal(sizes.exitCode, 2)
    assert.match(sizes.stderr, /--min-size \(5\) must not be greater than --max-size \(2\)/)
    const warmup = await ukc(['scale', 'init', 'web', '--master', 'm', '--warmup-time', '5ms', ...TARGET])
    assert.equal(warmup.exitCode, 2)
    assert.match(warmup.stderr, /--warmup-time duration must be at least 10ms/)
    assert.deepEqual(nock.pendingMocks(), [])
  })
})

describe('scale add', () => {
  afterEach(() => nock.cleanAll())

  it('POSTs a sorted step policy to the service\'s policies, mapping --adjustment absolute to exact', async () => {
    api().get('/v1/services', [{name: 'web'}]).reply(200, envelope('service_groups', [serviceObject({name: 'web'})]))
    const scope = api()
      .post(`/v1/services/${SVC_UUID}/autoscale/policies`, {
        name: 'reqs',
        type: 'step',
        metric: 'inflight_reqs',
        adjustment_type: 'exact',
        steps: [{upper_bound: 10, adjustment: 1}, {lower_bound: 10, upper_bound: 100, adjustment: 2}, {lower_bound: 100, adjustment: 4}],
      })
      .reply(200, envelope('policies', [{status: 'success', name: 'reqs'}]))
    api().get('/v1/services/autoscale', [{uuid: SVC_UUID}]).reply(200, envelope('service_groups', [config()]))
    const {exitCode, stdout} = await ukc(['scl', 'a', 'web', '-n', 'reqs', '-m', 'inflight_reqs', '-a', 'absolute', '-s', '100:/4', '-s', ':10/1', '-s', '10:100/2', ...TARGET])
    assert.ok(scope.isDone())
    assert.equal(exitCode, 0)
    assert.match(stdout, /^ +policies: busy;reqs$/m)
  })

  it('refuses steps kraft refuses, before any API call (exit 2)', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['-s', '0:10/1', '-s', '20:30/1'], /steps are not contiguous, gap found between 10 and 20/],
      [['-s', '10:5/1'], /lower bound cannot be greater or equal than upper bound/],
      [['-s', '0:10'], /could not parse step '0:10': expected format 'LOWER_BOUND:UPPER_BOUND\/ADJUSTMENT'/],
      [['-s', '0:/1', '-s', '10:20/1'], /upper bound cannot be empty in a step before the last step/],
      [['-s', '0:1/1', '-s', '1:2/1', '-s', '2:3/1', '-s', '3:4/1', '-s', '4:5/1'], /specify between 1 and 4 steps/],
    ]
    for (const [steps, message] of cases) {
      const {exitCode, stderr} = await ukc(['scale', 'add', 'web', '--name', 'p', ...steps, ...TARGET])
      assert.equal(exitCode, 2, stderr)
      assert.match(stderr, message)
    }
    const metric = await ukc(['scale', 'add', 'web', '--name', 'p', '--metric', 'memory', '--step', '0:1/1', ...TARGET])
    assert.equal(metric.exitCode, 2)
  })
})

describe('scale get, remove and reset', () => {
  afterEach(() => nock.cleanAll())

  it('gets the configuration in kraft\'s table columns', async () => {
    api().get('/v1/services/autoscale', [{uuid: SVC_UUID}]).reply(200, envelope('service_groups', [config()]))
    const {stdout} = await ukc(['scale', 'get', SVC_UUID, '-o', 'table', ...TARGET])
    const [header, row] = stdout.trimEnd().split('\n')
    assert.match(header, /^NAME\s+ENABLED\s+MIN SIZE\s+MAX SIZE\s+WARMUP \(MS\)\s+COOLDOWN \(MS\)\s+MASTER\s+POLICIES$/)
    assert.match(row, new RegExp(`^web\\s+true\\s+1\\s+10\\s+1000\\s+2000\\s+${UUID1}\\s+busy;reqs$`))
  })

  it('says when a service has no autoscale (status unconfigured) and leaves out what the API did not send', async () => {
    api().get('/v1/services/autoscale').reply(200, envelope('service_groups', [{status: 'unconfigured', uuid: SVC_UUID, name: 'web'}]))
    const {stdout, stderr, exitCode} = await ukc(['scale', 'get', 'web', '-o', 'table', ...TARGET])
    assert.equal(exitCode, 0)
    assert.equal(stdout, 'NAME  ENABLED  POLICIES\nweb   false\n')
    assert.match(stderr, /autoscale is not configured for web; set it up with `ukc scale init web --master INSTANCE`/)
  })

  it('gets one policy with --policy', async () => {
    api().get('/v1/services', [{name: 'web'}]).reply(200, envelope('service_groups', [serviceObject({name: 'web'})]))
    const policy = {status: 'success', name: 'busy', type: 'step', metric: 'cpu', adjustment_type: 'change', steps: [{upper_bound: 20, adjustment: -1}, {lower_bound: 20, adjustment: 2}]}
    api().get(`/v1/services/${SVC_UUID}/autoscale/policies/busy`).reply(200, envelope('policies', [policy]))
    const {stdout} = await ukc(['scale', 'get', 'web', '--policy', 'busy', ...TARGET])
    assert.match(stdout, /^ +name: busy$/m)
    assert.match(stdout, /^adjustment: change$/m)
    assert.match(stdout, /^ +steps: :20\/-1\n +20:\/2$/m)
    api().get('/v1/services', [{name: 'web'}]).reply(200, envelope('service_groups', [serviceObject({name: 'web'})]))
    api().get(`/v1/services/${SVC_UUID}/autoscale/policies/busy`).reply(200, envelope('policies', [policy]))
    assert.deepEqual(JSON.parse((await ukc(['scale', 'get', 'web', '--policy', 'busy', '--json', ...TARGET])).stdout), [policy])
  })

  it('removes a policy by the service\'s UUID without looking it up', async () => {
    const scope = api()
      .delete(`/v1/services/${SVC_UUID}/autoscale/policies/busy`, (body) => !body)
      .reply(200, envelope('policies', [{status: 'success', name: 'busy'}]))
    const {stdout, stderr, exitCode} = await ukc(['scale', 'rm', SVC_UUID, 'busy', ...TARGET])
    assert.ok(scope.isDone())
    assert.equal(exitCode, 0)
    assert.equal(stdout, 'NAME\nbusy\n')
    assert.match(stderr, /removed policy busy of /)
  })

  it('resets the configuration with DELETE /services/autoscale', async () => {
    const scope = api().delete('/v1/services/autoscale', [{name: 'web'}]).reply(200, envelope('service_groups', [{status: 'success', uuid: SVC_UUID, name: 'web'}]))
    const {stdout, exitCode} = await ukc(['autoscale', 'deinit', 'web', ...TARGET])
    assert.ok(scope.isDone())
    assert.equal(exitCode, 0)
    assert.match(stdout, new RegExp(`^NAME\\s+UUID\\nweb\\s+${SVC_UUID}\\n$`))
  })

  it('passes the API\'s autoscale error codes through as exit codes', async () => {
    const codes: Array<[number, number, string[]]> = [
      [26, 5, ['scale', 'init', 'web', '--master', 'm']],
      [27, 4, ['scale', 'reset', 'web']],
      [28, 1, ['scale', 'init', 'web', '--master', 'm']],
      [29, 2, ['scale', 'init', 'web', '--master', 'm']],
      [25, 5, ['scale', 'init', 'web', '--master', 'm']],
    ]
    for (const [code, exit, args] of codes) {
      nock.cleanAll()
      const reply = {status: 'error', data: {service_groups: [{status: 'error', name: 'web', error: code, message: `autoscale failure ${code}`}]}}
      api().post('/v1/services/autoscale').reply(200, reply)
      api().delete('/v1/services/autoscale').reply(200, reply)
      const {exitCode, stderr} = await ukc([...args, ...TARGET])
      assert.equal(exitCode, exit, `code ${code}: ${stderr}`)
      assert.match(stderr, new RegExp(`^Error: web: autoscale failure ${code}`))
    }
  })
})
