import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import '../setup.js'
import {ApiFixture} from './api-fixture.js'

describe('platform API v1: local scope, services, quotas', () => {
  const api = new ApiFixture()
  before(() => api.start(['carol']))
  after(() => api.close())

  it('starts, stops, logs and deletes through /instances/{uuid}/… with query parameters', async () => {
    const created = await api.request('POST', '/instances', {as: 'carol', body: {image: 'ukc/hello', name: 'local-scope'}})
    const uuid = String(created.body.data?.instances[0].uuid)
    const started = await api.request('PUT', `/instances/${uuid}/start?wait_timeout_ms=1000`, {as: 'carol'})
    assert.equal(started.body.data?.instances[0].state, 'running')
    const waited = await api.request('GET', `/instances/wait`, {as: 'carol', body: [{uuid, state: 'running', timeout_ms: 1000}]})
    assert.deepEqual(waited.body.data?.instances[0], {status: 'success', uuid, name: 'local-scope', state: 'running'})
    const log = await api.request('GET', `/instances/${uuid}/log?offset=-8`, {as: 'carol'})
    assert.equal(Buffer.from(String(log.body.data?.instances[0].output), 'base64').toString(), 'console\n')
    const stopped = await api.request('PUT', `/instances/${uuid}/stop?force=true`, {as: 'carol'})
    assert.equal(stopped.body.data?.instances[0].previous_state, 'running')
    assert.equal(stopped.body.data?.instances[0].state, 'stopped')
    const deleted = await api.request('DELETE', `/instances/${uuid}`, {as: 'carol'})
    assert.equal(deleted.body.status, 'success')
    assert.deepEqual(api.runtime.removed, [uuid])
    const gone = await api.request('GET', `/instances/${uuid}`, {as: 'carol'})
    assert.equal(gone.body.data?.instances[0].error, 8)
  })

  it('rejects a name given as uuid and a ref with neither', async () => {
    const reply = await api.request('GET', '/instances', {as: 'carol', body: [{uuid: 'web'}, {}]})
    const [byBadUuid, empty] = reply.body.data?.instances ?? []
    assert.equal(byBadUuid.message, "Invalid uuid 'web'")
    assert.equal(empty.error, 13)
    assert.equal(reply.body.status, 'error')
  })

  it('attaches instances to an existing service by name and frees its domain once it is deleted', async () => {
    const svc = await api.request('POST', '/services', {as: 'carol', body: {name: 'shared', services: [{port: 443, destination_port: 8080}], domains: [{name: 'shared'}]}})
    assert.equal(svc.body.status, 'success')
    const clash = await api.request('POST', '/services', {as: 'carol', body: {name: 'shared', services: []}})
    assert.equal(clash.body.data?.service_groups[0].error, 23)
    const one = await api.request('POST', '/instances', {as: 'carol', body: {image: 'ukc/hello', service_group: {name: 'shared'}}})
    assert.equal((one.body.data?.instances[0].service_group as {name: string}).name, 'shared')
    const missing = await api.request('POST', '/instances', {as: 'carol', body: {image: 'ukc/hello', service_group: {name: 'nope'}}})
    assert.equal(missing.body.data?.instances[0].error, 8)

    const listed = await api.request('GET', '/services', {as: 'carol', body: [{name: 'shared'}]})
    const [group] = listed.body.data?.service_groups ?? []
    assert.deepEqual((group.instances as Array<{name: string}>).map((i) => i.name), [one.body.data?.instances[0].name])
    assert.deepEqual(group.domains, [{fqdn: 'shared.local.localhost'}])

    await api.request('DELETE', '/instances', {as: 'carol', body: [{uuid: one.body.data?.instances[0].uuid}]})
    // A persistent service outlives its last instance; deleting it frees the domain.
    assert.ok(api.store.serviceByName(api.users[0].uuid, 'shared'))
    const removed = await api.request('DELETE', '/services', {as: 'carol', body: [{name: 'shared'}]})
    assert.equal(removed.body.status, 'success')
    const again = await api.request('POST', '/services', {as: 'carol', body: {services: [], domains: [{name: 'shared'}]}})
    assert.equal(again.body.status, 'success')
  })

  it('refuses soft > hard limits and unknown parameters with 400', async () => {
    const limits = await api.request('POST', '/services', {as: 'carol', body: {services: [], soft_limit: 10, hard_limit: 5}})
    assert.equal(limits.status, 400)
    assert.equal(limits.body.message, "Value of 'soft_limit' must not be greater than 'hard_limit'")
    const unknown = await api.request('POST', '/instances', {as: 'carol', body: {image: 'ukc/hello', colour: 'blue'}})
    assert.equal(unknown.status, 400)
    assert.equal(unknown.body.message, "Unknown parameter 'colour'")
    const env = await api.request('POST', '/instances', {as: 'carol', body: {image: 'ukc/hello', env: {N: 1}}})
    assert.equal(env.body.message, "Value of 'env' must be an object with string values")
  })

  it('reports quota exhaustion per item', async () => {
    const reply = await api.request('POST', '/instances', {as: 'carol', body: {image: 'ukc/hello', replicas: 100}})
    assert.equal(reply.status, 200)
    assert.equal(reply.body.data?.instances[0].error, 19)
    const quotas = await api.request('GET', '/users/quotas', {as: 'carol'})
    assert.equal((quotas.body.data?.quotas[0].hard as {instances: number}).instances, 64)
  })
})
