// The autoscale endpoints over the API fixture (real store, a runtime whose instances run at once,
// in-flight counts the test sets): shapes and error codes as the CLI expects them, and the
// autoscaler's group going up to max and back to min, resets, what a clone gets.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import '../setup.js'
import {ApiFixture} from './api-fixture.js'
import {until} from './runtime-fixture.js'

type Obj = Record<string, unknown>

describe('platform API: autoscale', () => {
  const api = new ApiFixture()
  before(() => api.start(['alice', 'bob']))
  after(() => api.close())

  async function service(name: string): Promise<Obj> {
    const reply = await api.request('POST', '/services', {as: 'alice', body: {name, services: [{port: 443, destination_port: 8080}]}})
    return reply.body.data?.service_groups[0] as Obj
  }

  async function instance(name: string, serviceName: string, extra: Obj = {}): Promise<Obj> {
    const reply = await api.request('POST', '/instances', {as: 'alice', body: {name, image: 'ukc/hello', service_group: {name: serviceName}, autostart: true, env: {MODE: 'prod'}, args: ['--fast'], memory_mb: 256, ...extra}})
    assert.equal(reply.body.status, 'success', JSON.stringify(reply.body))
    return reply.body.data?.instances[0] as Obj
  }

  const init = (body: Obj, as = 'alice') => api.request('POST', '/services/autoscale', {as, body})
  const groupOf = (serviceName: string) => api.store.listInstances().filter((i) => i.service_uuid === api.store.listServices().find((s) => s.name === serviceName)?.uuid)

  it('configures a service and answers GET in the shape the CLI prints; the service says autoscale: true', async () => {
    const svc = await service('web')
    const master = await instance('web-master', 'web')
    const created = await init({name: 'web', min_size: 1, max_size: 4, warmup_time_ms: 500, cooldown_time_ms: 2000, master: {name: 'web-master'}})
    assert.deepEqual(created.body, {status: 'success', data: {service_groups: [{status: 'success', uuid: svc.uuid, name: 'web'}]}})

    const got = await api.request('GET', '/services/autoscale', {as: 'alice', body: [{name: 'web'}]})
    assert.deepEqual(got.body.data?.service_groups[0], {
      status: 'success',
      uuid: svc.uuid,
      name: 'web',
      enabled: true,
      min_size: 1,
      max_size: 4,
      warmup_time_ms: 500,
      cooldown_time_ms: 2000,
      master: {uuid: master.uuid, name: 'web-master'},
      policies: [],
    })
    const local = await api.request('GET', `/services/${String(svc.uuid)}/autoscale`, {as: 'alice'})
    assert.equal(local.body.data?.service_groups[0].enabled, true)
    const listed = await api.request('GET', '/services', {as: 'alice', body: [{name: 'web'}]})
    assert.equal(listed.body.data?.service_groups[0].autoscale, true)
  })

  it('answers an unconfigured service with status unconfigured, in a successful envelope', async () => {
    const svc = await service('plain')
    const got = await api.request('GET', '/services/autoscale', {as: 'alice', body: [{uuid: svc.uuid}]})
    assert.deepEqual(got.body, {status: 'success', data: {service_groups: [{status: 'unconfigured', uuid: svc.uuid, name: 'plain', enabled: false}]}})
  })

  it('refuses with the real per-item codes: 26 configured, 25 master, 29 sizes, 27 not configured, 8 not found', async () => {
    await service('codes')
    await instance('codes-master', 'codes')
    await instance('outsider', 'plain')
    const item = (reply: {body: {data?: Record<string, Obj[]>}}, key = 'service_groups') => reply.body.data?.[key][0] ?? {}
    assert.equal(item(await init({name: 'web', master: {name: 'web-master'}})).error, 26)
    assert.match(String(item(await init({name: 'web', master: {name: 'web-master'}})).message), /already configured for service 'web'/)
    assert.equal(item(await init({name: 'codes', master: {name: 'outsider'}})).error, 25, 'the master must be attached to the service')
    for (const sizes of [{max_size: 17}, {min_size: 0}, {min_size: 5, max_size: 2}]) {
      const reply = await init({name: 'codes', master: {name: 'codes-master'}, ...sizes})
      assert.equal(item(reply).error, 29, JSON.stringify(sizes))
      assert.match(String(item(reply).message), /1 ≤ min_size ≤ max_size ≤ 16/)
    }
    assert.equal(item(await init({name: 'nowhere', master: {name: 'codes-master'}})).error, 8)
    assert.equal(item(await init({name: 'codes', master: {name: 'ghost'}})).error, 8)
    assert.equal(item(await init({name: 'codes', master: {name: 'codes-master'}}, 'bob')).error, 8, "another user's service does not exist for bob")
    const reset = await api.request('DELETE', '/services/autoscale', {as: 'alice', body: [{name: 'codes'}]})
    assert.equal(reset.body.status, 'error')
    assert.equal(item(reset).error, 27)
    const codes = api.store.serviceByName(api.users[0].uuid, 'codes')
    const policy = await api.request('POST', `/services/${codes?.uuid}/autoscale/policies`, {as: 'alice', body: {name: 'p', metric: 'cpu', steps: [{lower_bound: 0, adjustment: 1}]}})
    assert.equal(item(policy, 'policies').error, 27)
  })

  it('refuses malformed requests and policies with a 400 that says what is wrong', async () => {
    const svc = api.store.serviceByName(api.users[0].uuid, 'web')
    const cases: Array<[Obj, RegExp]> = [
      [{name: 'p', steps: [{lower_bound: 0, upper_bound: 10, adjustment: 1}, {lower_bound: 20, adjustment: 2}]}, /contiguous: one ends at 10 and the next starts at 20/],
      [{name: 'p', steps: [{upper_bound: 10, adjustment: 1}, {upper_bound: 20, adjustment: 2}]}, /Only the first step may omit 'lower_bound'/],
      [{name: 'p', steps: [{lower_bound: 10, upper_bound: 5, adjustment: 1}]}, /'lower_bound' \(10\) must be less than 'upper_bound' \(5\)/],
      [{name: 'p', steps: []}, /1 to 4 steps/],
      [{name: 'p', metric: 'memory', steps: [{adjustment: 1}]}, /Value of 'metric' must be one of cpu, inflight_reqs/],
      [{name: 'p', type: 'on_demand'}, /Policy type 'on_demand' is not supported/],
      [{name: 'p', steps: [{lower_bound: 0}]}, /'adjustment' of step 1 is required/],
    ]
    for (const [body, message] of cases) {
      const reply = await api.request('POST', `/services/${svc?.uuid}/autoscale/policies`, {as: 'alice', body})
      assert.equal(reply.status, 400, JSON.stringify(body))
      assert.match(String(reply.body.message), message)
    }
    const noMaster = await init({name: 'web'})
    assert.equal(noMaster.status, 400)
    assert.equal(noMaster.body.message, "Value of 'master' is required")
    const badTime = await init({name: 'web', master: {name: 'web-master'}, warmup_time_ms: 0})
    assert.equal(badTime.body.message, "Value of 'warmup_time_ms' must be in the range 1 to 2147483647")
  })

  it('adds, lists, gets and removes policies; a name is taken once', async () => {
    const svc = api.store.serviceByName(api.users[0].uuid, 'web')
    const base = `/services/${svc?.uuid}/autoscale/policies`
    const policy = {name: 'reqs', type: 'step', metric: 'inflight_reqs', adjustment_type: 'exact', steps: [{lower_bound: 10, adjustment: 2}, {upper_bound: 10, adjustment: 1}]}
    const added = await api.request('POST', base, {as: 'alice', body: policy})
    assert.deepEqual(added.body, {status: 'success', data: {policies: [{status: 'success', name: 'reqs'}]}})
    assert.equal((await api.request('POST', base, {as: 'alice', body: policy})).body.data?.policies[0].error, 23)
    const one = await api.request('GET', `${base}/reqs`, {as: 'alice'})
    assert.deepEqual(one.body.data?.policies[0], {status: 'success', ...policy, steps: [{upper_bound: 10, adjustment: 1}, {lower_bound: 10, adjustment: 2}]}, 'steps ordered by bound')
    assert.deepEqual((await api.request('GET', base, {as: 'alice'})).body.data?.policies.map((p) => p.name), ['reqs'])
    const removed = await api.request('DELETE', `${base}/reqs`, {as: 'alice'})
    assert.deepEqual(removed.body, {status: 'success', data: {policies: [{status: 'success', name: 'reqs'}]}})
    assert.equal((await api.request('GET', `${base}/reqs`, {as: 'alice'})).body.data?.policies[0].error, 8)
    assert.deepEqual((await api.request('GET', '/services/autoscale', {as: 'alice', body: [{name: 'web'}]})).body.data?.service_groups[0].policies, [])
  })

  it('clones the master up to max_size while the metric says so and back down to min_size; the master stays', async () => {
    await service('busy')
    const master = await instance('busy-master', 'busy', {scale_to_zero: {policy: 'idle', cooldown_time_ms: 5000}, restart_policy: 'on-failure'})
    const steps = [{upper_bound: 1, adjustment: -1}, {lower_bound: 1, upper_bound: 5, adjustment: 0}, {lower_bound: 5, adjustment: 1}]
    const policies = [{name: 'reqs', type: 'step', metric: 'inflight_reqs', adjustment_type: 'change', steps}]
    await init({name: 'busy', min_size: 1, max_size: 3, warmup_time_ms: 1, cooldown_time_ms: 30, master: {name: 'busy-master'}, policies})
    api.meters.inflightOf.set(String(master.uuid), 9)
    await until('the group at max_size, running', () => groupOf('busy').filter((i) => i.state === 'running').length === 3, 10_000)
    const clones = groupOf('busy').filter((i) => i.uuid !== master.uuid)
    for (const clone of clones) {
      assert.equal(clone.clone_of, master.uuid)
      assert.match(clone.name, /^busy-master-[a-z0-9]{5}$/)
      assert.equal(clone.image, 'ukc/hello')
      assert.deepEqual([clone.env, clone.args, clone.memory_mb, clone.restart_policy, clone.scale_to_zero.policy], [{MODE: 'prod'}, ['--fast'], 256, 'on-failure', 'idle'])
      assert.notEqual(clone.private_ip, master.private_ip)
      assert.equal(clone.state, 'running')
    }

    api.meters.inflightOf.set(String(master.uuid), 0)
    await until('the group back at min_size', () => groupOf('busy').length === 1, 10_000)
    assert.equal(groupOf('busy')[0].uuid, master.uuid, 'the master is never removed')
    assert.ok(clones.every((c) => api.meters.forgotten.includes(c.uuid)), 'deleted clones are forgotten by the meters')
  })

  it('keeps min_size instances without load, and a reset deletes the clones and starts a stopped master', async () => {
    await service('floor')
    const master = await instance('floor-master', 'floor')
    await init({name: 'floor', min_size: 3, max_size: 5, warmup_time_ms: 1, cooldown_time_ms: 1, master: {name: 'floor-master'}})
    await until('min_size instances', () => groupOf('floor').length === 3, 10_000)
    await api.request('PUT', '/instances/stop', {as: 'alice', body: [{uuid: master.uuid}]})
    assert.equal(api.store.instance(String(master.uuid))?.state, 'stopped')

    const reset = await api.request('DELETE', '/services/autoscale', {as: 'alice', body: [{name: 'floor'}]})
    assert.equal(reset.body.status, 'success')
    assert.equal(api.store.serviceByName(api.users[0].uuid, 'floor')?.autoscale, undefined)
    await until('the clones deleted', () => groupOf('floor').length === 1, 10_000)
    await until('the master started', () => api.store.instance(String(master.uuid))?.state === 'running', 10_000)
    const got = await api.request('GET', '/services/autoscale', {as: 'alice', body: [{name: 'floor'}]})
    assert.equal(got.body.data?.service_groups[0].status, 'unconfigured')
  })

  it('deleting the master resets autoscale: its clones go too, the service stays', async () => {
    await service('gone')
    const master = await instance('gone-master', 'gone')
    await init({name: 'gone', min_size: 2, max_size: 2, warmup_time_ms: 1, cooldown_time_ms: 1, master: {name: 'gone-master'}})
    await until('the clone', () => groupOf('gone').length === 2, 10_000)
    const deleted = await api.request('DELETE', '/instances', {as: 'alice', body: [{uuid: master.uuid}]})
    assert.equal(deleted.body.status, 'success')
    await until('the clone deleted', () => groupOf('gone').length === 0, 10_000)
    const svc = api.store.serviceByName(api.users[0].uuid, 'gone')
    assert.ok(svc, 'the (persistent) service stays')
    assert.equal(svc.autoscale, undefined)
  })

  it('refuses a master that has volumes (code 25): clones could not share them', async () => {
    await service('vols')
    await api.request('POST', '/volumes', {as: 'alice', body: {name: 'data', size_mb: 1}})
    await instance('vols-master', 'vols', {autostart: false, volumes: [{name: 'data', at: '/data'}]})
    const withVolume = await init({name: 'vols', master: {name: 'vols-master'}})
    assert.equal(withVolume.body.data?.service_groups[0].error, 25)
    assert.match(String(withVolume.body.data?.service_groups[0].message), /has volumes, which autoscale clones cannot share/)
  })
})
