// Every command that prints API objects honours -o table|list|json|raw and --json the same way:
// table = a header row, list = `key: value` blocks, json = the API items, raw = the response body.
import assert from 'node:assert/strict'
import {afterEach, describe, it} from 'node:test'

import {SVC_UUID, TARGET, UUID1, api, envelope, instanceObject, nock, serviceObject, ukc} from './harness.js'

interface Case {
  args: string[]
  method: 'get' | 'put' | 'delete'
  path: string
  body: Record<string, unknown>
  header: RegExp
  listKey: RegExp
  /** Another call the table and list formats make. */
  also?: () => void
}

const instances = envelope('instances', [instanceObject()])
const transitions = envelope('instances', [{status: 'success', uuid: UUID1, name: 'nginx-1a747', state: 'stopped', previous_state: 'running'}])
const services = envelope('service_groups', [serviceObject()])
const quotas = envelope('quotas', [
  {
    status: 'success',
    uuid: 'a1b2',
    used: {instances: 1, live_instances: 1, live_vcpus: 1, live_memory_mb: 128, service_groups: 1, services: 1, volumes: 0, total_volume_mb: 0},
    hard: {instances: 16, live_vcpus: 8, live_memory_mb: 4096, service_groups: 253, services: 253, volumes: 253, total_volume_mb: 1024},
    limits: {min_memory_mb: 16, max_memory_mb: 2048, min_vcpus: 1, max_vcpus: 8, min_volume_mb: 1, max_volume_mb: 1024, min_autoscale_size: 1, max_autoscale_size: 1},
  },
])
const images = envelope('images', [{status: 'success', digest: 'alice/app@sha256:aa', tags: ['alice/app:1.0'], size_in_bytes: 1024}])

const metrics = envelope('instances', [{status: 'success', uuid: UUID1, name: 'nginx-1a747', state: 'running', rss_bytes: 1024, cpu_time_ms: 230, nconns: 1, ntotal: 5}])
const autoscale = envelope('service_groups', [{status: 'success', uuid: SVC_UUID, name: 'web', enabled: true, min_size: 1, max_size: 4, policies: []}])
const reset = envelope('service_groups', [{status: 'success', uuid: SVC_UUID, name: 'web'}])

const CASES: Case[] = [
  {args: ['instance', 'list'], method: 'get', path: '/v1/instances', body: instances, header: /^NAME\s+FQDN\s+STATE\s+STATUS/, listKey: /^ +uuid: /m},
  {args: ['instance', 'get', 'nginx-1a747'], method: 'get', path: '/v1/instances', body: instances, header: /^NAME\s+FQDN\s+STATE\s+STATUS/, listKey: /^ +uuid: /m},
  {args: ['instance', 'start', 'nginx-1a747'], method: 'put', path: '/v1/instances/start', body: transitions, header: /^NAME\s+UUID\s+STATE\s+PREVIOUS STATE/, listKey: /^previous state: running$/m},
  {args: ['instance', 'stop', 'nginx-1a747'], method: 'put', path: '/v1/instances/stop', body: transitions, header: /^NAME\s+UUID\s+STATE\s+PREVIOUS STATE/, listKey: /^previous state: running$/m},
  {args: ['instance', 'remove', 'nginx-1a747'], method: 'delete', path: '/v1/instances', body: transitions, header: /^NAME\s+UUID\s+STATE\s+PREVIOUS STATE/, listKey: /^ +name: nginx-1a747$/m},
  {args: ['service', 'list'], method: 'get', path: '/v1/services', body: services, header: /^NAME\s+FQDN\s+SERVICES\s+INSTANCES/, listKey: /^ +uuid: /m},
  {args: ['service', 'get', 'web'], method: 'get', path: '/v1/services', body: services, header: /^NAME\s+FQDN\s+SERVICES\s+INSTANCES/, listKey: /^ +uuid: /m},
  {args: ['service', 'remove', 'web'], method: 'delete', path: '/v1/services', body: services, header: /^NAME\s+FQDN\s+SERVICES/, listKey: /^ +uuid: /m},
  {args: ['instance', 'metrics', 'nginx-1a747'], method: 'get', path: '/v1/instances/metrics', body: metrics, header: /^NAME\s+STATE\s+RSS\s+CPU TIME/, listKey: /^ +cpu time: 230ms$/m},
  {args: ['scale', 'get', 'web'], method: 'get', path: '/v1/services/autoscale', body: autoscale, header: /^NAME\s+ENABLED\s+MIN SIZE\s+MAX SIZE\s+POLICIES/, listKey: /^ +uuid: /m},
  {args: ['scale', 'reset', 'web'], method: 'delete', path: '/v1/services/autoscale', body: reset, header: /^NAME\s+UUID\nweb/, listKey: /^name: web$/m},
  {args: ['image', 'remove', 'alice/app:1.0'], method: 'delete', path: '/v1/images', body: images, header: /^NAME\s+VERSION\s+SIZE\nalice\/app/, listKey: /^ +app args:/m},
  {args: ['quotas'], method: 'get', path: '/v1/users/quotas', body: quotas, header: /^USER NAME\s+ACTIVE INSTANCES/, listKey: /^ +user uuid: a1b2$/m},
  {
    args: ['image', 'list'],
    method: 'get',
    path: '/v1/images/list',
    body: images,
    header: /^NAME\s+VERSION\s+SIZE\s+USED BY/,
    listKey: /^ +app args:/m,
    also: () => api().get('/v1/instances').reply(200, envelope('instances', [instanceObject({image: 'alice/app@sha256:aa'})])),
  },
]

describe('output formats', () => {
  afterEach(() => nock.cleanAll())

  for (const c of CASES) {
    it(`${c.args.join(' ')}: table, list, json and raw`, async () => {
      const reply = () => api()[c.method](c.path).reply(200, JSON.stringify(c.body))
      const items = Object.values(c.body.data as Record<string, unknown[]>)[0]

      reply()
      c.also?.()
      assert.match((await ukc([...c.args, '-o', 'table', ...TARGET])).stdout, c.header)
      reply()
      c.also?.()
      assert.match((await ukc([...c.args, '-o', 'list', ...TARGET])).stdout, c.listKey)
      reply()
      assert.deepEqual(JSON.parse((await ukc([...c.args, '--json', ...TARGET])).stdout), items)
      reply()
      assert.deepEqual(JSON.parse((await ukc([...c.args, '-o', 'json', ...TARGET])).stdout), items)
      reply()
      assert.equal((await ukc([...c.args, '-o', 'raw', ...TARGET])).stdout, `${JSON.stringify(c.body)}\n`)
    })
  }

  it('service create: raw is the create response, json the service objects', async () => {
    const created = JSON.stringify(envelope('service_groups', [{status: 'success', uuid: SVC_UUID, name: 'web', domains: []}]))
    const full = serviceObject()
    api().post('/v1/services').reply(200, created)
    api().get('/v1/services').reply(200, envelope('service_groups', [full]))
    assert.equal((await ukc(['service', 'create', '443:8080', '-o', 'raw', ...TARGET])).stdout, `${created}\n`)
    api().post('/v1/services').reply(200, created)
    api().get('/v1/services').reply(200, envelope('service_groups', [full]))
    assert.deepEqual(JSON.parse((await ukc(['service', 'create', '443:8080', '--json', ...TARGET])).stdout), [full])
  })
})
