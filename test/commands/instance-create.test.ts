import assert from 'node:assert/strict'
import {afterEach, describe, it} from 'node:test'

import {SVC_UUID, TARGET, UUID1, UUID2, api, envelope, instanceObject, nock, serviceObject, ukc} from './harness.js'

const createdItem = {
  status: 'success',
  uuid: UUID1,
  name: 'nginx-1a747',
  state: 'starting',
  private_fqdn: 'nginx-1a747.internal',
  private_ip: '172.16.3.3',
  service_group: {uuid: SVC_UUID, name: 'twilight-gorilla-ui5b6kwt', domains: [{fqdn: 'twilight-gorilla-ui5b6kwt.fra0.kraft.host'}]},
}

function expectDetails(instance = instanceObject(), withService = true) {
  api().get('/v1/instances', [{uuid: instance.uuid as string}]).reply(200, envelope('instances', [instance]))
  if (withService) api().get('/v1/services', [{uuid: SVC_UUID}]).reply(200, envelope('service_groups', [serviceObject()]))
}

describe('instance create', () => {
  afterEach(() => {
    nock.cleanAll()
    delete process.env.UKC_TEST_FROM_ENV
  })

  it('sends every flag as kraft builds the request', async () => {
    process.env.UKC_TEST_FROM_ENV = 'copied'
    const scope = api()
      .post('/v1/instances', {
        image: 'nginx:latest',
        name: 'my-app',
        args: ['/bin/server', '--debug', '-x'],
        env: {LIST: 'a,b', UKC_TEST_FROM_ENV: 'copied'},
        memory_mb: 512,
        vcpus: 2,
        replicas: 1,
        autostart: true,
        restart_policy: 'always',
        features: ['delete-on-stop'],
        volumes: [{name: 'data', at: '/data', readonly: true}],
        service_group: {
          services: [
            {port: 443, destination_port: 8080, handlers: ['http', 'tls']},
            {port: 80, destination_port: 443, handlers: ['http', 'redirect']},
          ],
          domains: [{name: 'example.com.', certificate: {name: 'my-cert'}}],
        },
        scale_to_zero: {policy: 'idle', stateful: true, cooldown_time_ms: 500},
      })
      .reply(200, envelope('instances', [createdItem]))
    expectDetails()
    const {stdout, stderr, exitCode} = await ukc([
      'instance', 'create', '--name', 'my/app', '-p', '443:8080', '-e', 'LIST=a,b', '-e', 'UKC_TEST_FROM_ENV', '-M', '512Mi', '-V', '2',
      '-R', '1', '--restart', 'always', '--scale-to-zero', 'idle', '--scale-to-zero-cooldown', '500ms', '--scale-to-zero-stateful',
      '-d', 'example.com', '-c', 'my-cert', '-v', 'data:/data:ro', '-f', 'delete-on-stop', '-f', 'delete-on-stop',
      '--entrypoint', '/bin/server', '-S', ...TARGET, 'index.unikraft.io/official/nginx', '--', '--debug', '-x',
    ])
    assert.equal(stderr, '')
    assert.equal(exitCode, 0)
    assert.ok(scope.isDone())
    assert.equal(
      stdout,
      [
        '[●] Deployed successfully!',
        ' ────────── name: nginx-1a747',
        ` ────────── uuid: ${UUID1}`,
        ' ───────── metro: http://api.test/v1',
        ' ───────── state: running',
        ' ──────── domain: https://twilight-gorilla-ui5b6kwt.fra0.kraft.host',
        ' ───────── image: nginx@sha256:0d5b4ba1ed18c2a3ab96e13f3f1a6d1e8c2a2b8e6f',
        ' ───── boot time: 19.81 ms',
        ' ──────── memory: 128 MiB',
        ' ─────── service: twilight-gorilla-ui5b6kwt',
        ' ── private fqdn: nginx-1a747.internal',
        ' ──── private ip: 172.16.3.3',
        ' ────────── args: /usr/bin/nginx -c /etc/nginx/nginx.conf',
        '',
      ].join('\n'),
    )
  })

  it('creates a private instance: no service, scale-to-zero off, with a note', async () => {
    const scope = api()
      .post('/v1/instances', {image: 'nginx:latest', autostart: false, restart_policy: 'never', scale_to_zero: {policy: 'off'}})
      .reply(200, envelope('instances', [{...createdItem, state: 'stopped', service_group: undefined}]))
    expectDetails(instanceObject({state: 'stopped', service_group: undefined, stop_reason: undefined}), false)
    const {stdout, stderr, exitCode} = await ukc(['inst', 'new', 'nginx', ...TARGET])
    assert.ok(scope.isDone())
    assert.equal(exitCode, 0)
    assert.equal(stderr, 'no ports or service specified, disabling scale to zero\n')
    assert.match(stdout, /^\[●\] Deployed but instance is not online!$/m)
    assert.doesNotMatch(stdout, /domain:|service:/)
    assert.match(stdout, /private fqdn: nginx-1a747\.internal/)
  })

  it('attaches to an existing service without a scale-to-zero override', async () => {
    // With --start, the service is looked up first for a rollout: nothing in it runs this image.
    api().get('/v1/services', [{name: 'web'}]).reply(200, envelope('service_groups', [serviceObject({name: 'web', instances: []})]))
    const scope = api()
      .post('/v1/instances', {image: 'nginx:latest', autostart: true, restart_policy: 'never', service_group: {name: 'web'}})
      .reply(200, envelope('instances', [createdItem]))
    expectDetails()
    const {exitCode} = await ukc(['instance', 'create', '--service', 'web', '--start', 'nginx:latest', ...TARGET])
    assert.ok(scope.isDone())
    assert.equal(exitCode, 0)
  })

  it('refuses --service together with new ports or domains (exit 2, no API call)', async () => {
    for (const [flag, value, name] of [['-p', '443:8080', '--port|-p'], ['-d', 'example.com', '--domain|-d'], ['-s', 'shop', '--subdomain|-s']]) {
      const {exitCode, stderr} = await ukc(['instance', 'create', '-g', 'web', flag, value, 'nginx', ...TARGET])
      assert.equal(exitCode, 2)
      assert.equal(stderr.split('\n')[0], `Error: cannot use existing --service|-g and define new ${name}`)
    }
  })

  it('refuses bad ports, memory and durations with usage errors (exit 2)', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['-p', '443:8080/quic'], /unknown handler: quic \(choice of \[tls http redirect\]\)/],
      [['-p', '443/http/tls'], /malformed port expected format EXTERNAL:INTERNAL\[\/HANDLER\]/],
      [['-M', '100Ki'], /memory must be at least 1Mi/],
      [['--scale-to-zero-cooldown', '0ms'], /must be at least 1ms/],
      [['--restart', 'sometimes'], /Expected --restart=sometimes to be one of: never, always, on-failure/],
      [['-w'], /--wait needs --start/],
    ]
    for (const [flags, message] of cases) {
      const {exitCode, stderr} = await ukc(['instance', 'create', ...flags, 'nginx', ...TARGET])
      assert.equal(exitCode, 2, flags.join(' '))
      assert.match(stderr, message)
    }
  })

  it('waits for running with --wait before reading the instance', async () => {
    api().post('/v1/instances').reply(200, envelope('instances', [createdItem]))
    const wait = api()
      .get('/v1/instances/wait', [{uuid: UUID1, state: 'running', timeout_ms: 30_000}])
      .reply(200, envelope('instances', [{status: 'success', uuid: UUID1, name: 'nginx-1a747', state: 'running'}]))
    expectDetails()
    const {exitCode, stderr} = await ukc(['instance', 'create', '-p', '443:8080', '--start', '--wait', '--wait-timeout', '30s', 'nginx', ...TARGET])
    assert.ok(wait.isDone())
    assert.equal(exitCode, 0)
    assert.match(stderr, /waiting for the instance to be running/)
  })

  it('reports an instance that does not come up in time, still prints it, and exits non-zero', async () => {
    api().post('/v1/instances').reply(200, envelope('instances', [createdItem]))
    api()
      .get('/v1/instances/wait')
      .reply(200, {status: 'error', data: {instances: [{status: 'error', uuid: UUID1, name: 'nginx-1a747', error: 12, message: 'timed out waiting for state running'}]}})
    expectDetails(instanceObject({state: 'starting'}))
    const {stdout, stderr, exitCode} = await ukc(['instance', 'create', '-p', '443:8080', '--start', '--wait', 'nginx', ...TARGET])
    assert.equal(exitCode, 1)
    assert.match(stderr, /Error: nginx-1a747: timed out waiting for state running \(code=12\)/)
    assert.match(stderr, /it looks like the instance did not come online, to view logs run: ukc instance logs nginx-1a747/)
    assert.match(stdout, /^\[●\] Deployed but instance is not online!$/m)
  })

  it('prints a table for -o table and for several replicas', async () => {
    api().post('/v1/instances').reply(200, envelope('instances', [createdItem, {...createdItem, uuid: UUID2, name: 'nginx-1a747-x1'}]))
    api()
      .get('/v1/instances', [{uuid: UUID1}, {uuid: UUID2}])
      .reply(200, envelope('instances', [instanceObject(), instanceObject({uuid: UUID2, name: 'nginx-1a747-x1'})]))
    const {stdout} = await ukc(['instance', 'create', '-p', '443:8080', '-R', '1', 'nginx', ...TARGET])
    const lines = stdout.trimEnd().split('\n')
    assert.match(lines[0], /^NAME\s+FQDN\s+STATE\s+STATUS/)
    assert.deepEqual(lines.slice(1).map((l) => l.split(/\s+/)[0]), ['nginx-1a747', 'nginx-1a747-x1'])
  })

  it('prints API objects for --json and the create response for -o raw', async () => {
    const instance = instanceObject()
    api().post('/v1/instances').reply(200, envelope('instances', [createdItem]))
    api().get('/v1/instances').reply(200, envelope('instances', [instance]))
    const json = await ukc(['instance', 'create', '-p', '443:8080', 'nginx', '--json', ...TARGET])
    assert.deepEqual(JSON.parse(json.stdout), [instance])

    const body = JSON.stringify(envelope('instances', [createdItem]))
    api().post('/v1/instances').reply(200, body)
    api().get('/v1/instances').reply(200, envelope('instances', [instanceObject()]))
    const raw = await ukc(['instance', 'create', '-p', '443:8080', 'nginx', '-o', 'raw', ...TARGET])
    assert.equal(raw.stdout, `${body}\n`)
  })

  it('exits 5 when the name is taken (code 23) and 2 when the API rejects the request (400)', async () => {
    api()
      .post('/v1/instances')
      .reply(200, {status: 'error', message: 'Creation failed', data: {instances: [{status: 'error', name: 'web', error: 23, message: 'An instance with this name already exists'}]}})
    const taken = await ukc(['instance', 'create', '--name', 'web', 'nginx', ...TARGET])
    assert.equal(taken.exitCode, 5)
    assert.match(taken.stderr, /Error: web: An instance with this name already exists/)

    api().post('/v1/instances').reply(400, {status: 'error', message: "Value of 'memory_mb' must be in the range 16 to 4096"})
    const invalid = await ukc(['instance', 'create', '-M', '8', 'nginx', ...TARGET])
    assert.equal(invalid.exitCode, 2)
    assert.match(invalid.stderr, /Error: Value of 'memory_mb' must be in the range 16 to 4096/)
  })

  it('never retries the create on 503 (exit 7)', async () => {
    const scope = api().post('/v1/instances').once().reply(503, {status: 'error', message: 'unavailable'})
    const {exitCode} = await ukc(['instance', 'create', 'nginx', ...TARGET])
    assert.ok(scope.isDone())
    assert.equal(exitCode, 7)
  })
})
