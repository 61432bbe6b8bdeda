import assert from 'node:assert/strict'
import {afterEach, describe, it} from 'node:test'

import {SVC_UUID, TARGET, UUID1, UUID2, api, envelope, nock, notFound, serviceObject, ukc} from './harness.js'

describe('service create', () => {
  afterEach(() => nock.cleanAll())

  it('POSTs /services with ports, domains and limits, then prints the service', async () => {
    const scope = api()
      .post('/v1/services', {
        name: 'my-service',
        services: [
          {port: 443, destination_port: 8080, handlers: ['http', 'tls']},
          {port: 6379, destination_port: 6379, handlers: ['tls']},
        ],
        domains: [{name: 'shop'}],
        soft_limit: 10,
        hard_limit: 100,
      })
      .reply(200, envelope('service_groups', [{status: 'success', uuid: SVC_UUID, name: 'my-service', domains: [{fqdn: 'shop.fra0.kraft.host'}]}]))
    api()
      .get('/v1/services', [{uuid: SVC_UUID}])
      .reply(200, envelope('service_groups', [serviceObject({name: 'my-service', persistent: true, instances: [], domains: [{fqdn: 'shop.fra0.kraft.host'}]})]))
    const {stdout, exitCode} = await ukc(['service', 'create', '-n', 'my-service', '-s', 'shop', '-l', '10', '-L', '100', '443:8080/http+tls', '6379/tls', ...TARGET])
    assert.ok(scope.isDone())
    assert.equal(exitCode, 0)
    assert.match(stdout, /^NAME\s+FQDN\s+SERVICES\s+INSTANCES\s+CREATED AT\s+PERSISTENT\nmy-service\s+shop\.fra0\.kraft\.host\s+443:8080\/http\+tls 80:443\/http\+redirect\s+10mins ago\s+true\n$/)
  })

  it('expands a single 443:X and always sends domains', async () => {
    const scope = api()
      .post('/v1/services', {
        services: [
          {port: 443, destination_port: 8080, handlers: ['http', 'tls']},
          {port: 80, destination_port: 443, handlers: ['http', 'redirect']},
        ],
        domains: [],
      })
      .reply(200, envelope('service_groups', [{status: 'success', uuid: SVC_UUID, name: 'x'}]))
    api().get('/v1/services').reply(200, envelope('service_groups', [serviceObject()]))
    const {exitCode} = await ukc(['svc', 'new', '443:8080', ...TARGET])
    assert.ok(scope.isDone())
    assert.equal(exitCode, 0)
  })

  it('refuses a soft limit above the hard limit and bad handlers (exit 2)', async () => {
    const limits = await ukc(['service', 'create', '-l', '10', '-L', '5', '443:8080', ...TARGET])
    assert.equal(limits.exitCode, 2)
    assert.match(limits.stderr, /--soft-limit \(10\) must not be greater than --hard-limit \(5\)/)
    const handler = await ukc(['service', 'create', '443:8080/https', ...TARGET])
    assert.equal(handler.exitCode, 2)
    assert.match(handler.stderr, /unknown handler: https \(choice of \[tls http redirect\]\)/)
  })

  it('exits 5 when the name is taken', async () => {
    api()
      .post('/v1/services')
      .reply(200, {status: 'error', data: {service_groups: [{status: 'error', name: 'web', error: 23, message: 'service name already in use'}]}})
    const {exitCode, stderr} = await ukc(['service', 'create', '-n', 'web', '443:8080', ...TARGET])
    assert.equal(exitCode, 5)
    assert.match(stderr, /Error: web: service name already in use/)
  })
})

describe('service list and get', () => {
  afterEach(() => nock.cleanAll())

  it('lists services in a table', async () => {
    api().get('/v1/services', (body) => !body).reply(200, envelope('service_groups', [serviceObject()]))
    const {stdout} = await ukc(['services', 'ls', ...TARGET])
    const lines = stdout.trimEnd().split('\n')
    assert.match(lines[0], /^NAME\s+FQDN\s+SERVICES\s+INSTANCES\s+CREATED AT\s+PERSISTENT$/)
    assert.match(lines[1], /^twilight-gorilla-ui5b6kwt\s+twilight-gorilla-ui5b6kwt\.fra0\.kraft\.host\s+443:8080\/http\+tls 80:443\/http\+redirect\s+nginx-1a747\s+10mins ago\s+false$/)
  })

  it('gets one service in the list format with UUID and limits', async () => {
    api().get('/v1/services', [{name: 'twilight-gorilla-ui5b6kwt'}]).reply(200, envelope('service_groups', [serviceObject()]))
    const {stdout} = await ukc(['service', 'get', 'twilight-gorilla-ui5b6kwt', ...TARGET])
    assert.match(stdout, new RegExp(`^ +uuid: ${SVC_UUID}$`, 'm'))
    assert.match(stdout, /^ +services: 443:8080\/http\+tls 80:443\/http\+redirect$/m)
    assert.match(stdout, /^soft limit: 1$/m)
    assert.match(stdout, /^hard limit: 65535$/m)
  })

  it('prints API objects with --json and exits 4 for a missing service', async () => {
    const service = serviceObject()
    api().get('/v1/services').reply(200, envelope('service_groups', [service]))
    const json = await ukc(['service', 'get', 'x', '--json', ...TARGET])
    assert.deepEqual(JSON.parse(json.stdout), [service])
    api().get('/v1/services', [{name: 'ghost'}]).reply(200, notFound('service_groups', 'ghost', 'service'))
    const missing = await ukc(['service', 'get', 'ghost', ...TARGET])
    assert.equal(missing.exitCode, 4)
    assert.equal(missing.stderr, 'Error: ghost: service not found\n')
  })
})

describe('service remove and drain', () => {
  afterEach(() => nock.cleanAll())

  it('DELETEs /services by name', async () => {
    const scope = api().delete('/v1/services', [{name: 'web'}, {uuid: SVC_UUID}]).reply(200, envelope('service_groups', [{status: 'success', uuid: UUID1, name: 'web'}, {status: 'success', uuid: SVC_UUID, name: 'x'}]))
    const {exitCode, stderr} = await ukc(['service', 'rm', 'web', SVC_UUID, ...TARGET])
    assert.ok(scope.isDone())
    assert.equal(exitCode, 0)
    assert.equal(stderr, 'removing 2 service(s)\n')
  })

  it('waits for the service to be empty with --wait-empty', async () => {
    api().get('/v1/services', [{name: 'web'}]).reply(200, envelope('service_groups', [serviceObject({name: 'web'})]))
    api().get('/v1/services', [{name: 'web'}]).reply(200, envelope('service_groups', [serviceObject({name: 'web', instances: []})]))
    const scope = api().delete('/v1/services', [{name: 'web'}]).reply(200, envelope('service_groups', [{status: 'success', uuid: SVC_UUID, name: 'web'}]))
    const {exitCode} = await ukc(['service', 'remove', 'web', '--wait-empty', ...TARGET])
    assert.ok(scope.isDone())
    assert.equal(exitCode, 0)
  })

  it('exits 5 when the API refuses because instances are attached (code 15)', async () => {
    api().delete('/v1/services').reply(200, {status: 'error', data: {service_groups: [{status: 'error', name: 'web', error: 15, message: 'service has instances attached'}]}})
    const {exitCode} = await ukc(['service', 'remove', 'web', ...TARGET])
    assert.equal(exitCode, 5)
  })

  it('removes every service with --all --yes', async () => {
    api().get('/v1/services').reply(200, envelope('service_groups', [serviceObject({name: 'a'}), serviceObject({name: 'b'})]))
    const scope = api().delete('/v1/services', [{name: 'a'}, {name: 'b'}]).reply(200, envelope('service_groups', [{status: 'success', uuid: 'u', name: 'a'}, {status: 'success', uuid: 'v', name: 'b'}]))
    const {exitCode} = await ukc(['service', 'remove', '--all', '--yes', ...TARGET])
    assert.ok(scope.isDone())
    assert.equal(exitCode, 0)
  })

  it('drains: deletes the instances of the service and waits until they are gone', async () => {
    api()
      .get('/v1/services', [{name: 'web'}])
      .reply(200, envelope('service_groups', [serviceObject({name: 'web', instances: [{uuid: UUID1, name: 'a'}, {uuid: UUID2, name: 'b'}]})]))
    const del = api()
      .delete('/v1/instances', [{uuid: UUID1}, {uuid: UUID2}])
      .reply(200, envelope('instances', [{status: 'success', uuid: UUID1, name: 'a', state: 'stopping'}, {status: 'success', uuid: UUID2, name: 'b', state: 'stopping'}]))
    api()
      .get('/v1/instances', [{uuid: UUID1}, {uuid: UUID2}])
      .reply(200, {status: 'partial_success', data: {instances: [{status: 'success', uuid: UUID1, name: 'a', state: 'stopping'}, {status: 'error', uuid: UUID2, error: 8, message: 'not found'}]}})
    const gone = api()
      .get('/v1/instances', [{uuid: UUID1}, {uuid: UUID2}])
      .reply(200, {status: 'error', data: {instances: [{status: 'error', uuid: UUID1, error: 8, message: 'not found'}, {status: 'error', uuid: UUID2, error: 8, message: 'not found'}]}})
    const {exitCode, stderr} = await ukc(['service', 'drain', 'web', ...TARGET])
    assert.ok(del.isDone() && gone.isDone())
    assert.equal(exitCode, 0)
    assert.match(stderr, /removing 2 instance\(s\)/)
  })
})
