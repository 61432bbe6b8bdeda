// The volume endpoints and volumes in instance create, against the API fixture (real store, real
// directory storage, fake instances): each rule and each error a user can run into.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import {after, before, describe, it} from 'node:test'

import '../setup.js'
import {Store} from '../../src/platform/store/index.js'
import {ApiFixture, type Reply} from './api-fixture.js'

type Item = Record<string, unknown>

function items(reply: Reply, key = 'volumes'): Item[] {
  return reply.body.data?.[key] ?? []
}

function first(reply: Reply, key = 'volumes'): Item {
  return items(reply, key)[0] ?? {}
}

describe('platform API v1: volumes', () => {
  const api = new ApiFixture()
  before(() => api.start(['alice', 'bob', 'quota']))
  after(() => api.close())

  const create = (body: unknown, as = 'alice') => api.request('POST', '/volumes', {as, body})
  const get = (name: string, as = 'alice') => api.request('GET', '/volumes', {as, body: [{name}]}).then((r) => first(r))
  const instance = async (name: string, extra: Item = {}, as = 'alice') => first(await api.request('POST', '/instances', {as, body: {image: 'ukc/hello', name, ...extra}}), 'instances')
  const attach = (body: unknown, as = 'alice') => api.request('PUT', '/volumes/attach', {as, body})
  const detach = (body: unknown, as = 'alice') => api.request('PUT', '/volumes/detach', {as, body})

  describe('create, get, delete', () => {
    it('creates a volume from the SDK object and from the OpenAPI array, with its storage on disk', async () => {
      const one = await create({name: 'pgdata', size_mb: 512})
      assert.equal(one.status, 200)
      const volume = first(one)
      assert.equal(volume.status, 'success')
      assert.equal(volume.name, 'pgdata')
      assert.equal(volume.state, 'available')
      assert.equal(volume.size_mb, 512)
      assert.equal(volume.persistent, true)
      assert.deepEqual([volume.attached_to, volume.mounted_by], [[], []])
      assert.ok(fs.statSync(api.volumes.dataOf(String(volume.uuid))).isDirectory())

      const two = await create([{size_mb: 1}, {name: 'Logs', size_mb: 16}])
      const [unnamed, logs] = items(two)
      assert.match(String(unnamed.name), /^vol-[a-z0-9]{5}$/)
      assert.equal(logs.name, 'logs') // lower-cased, like instance names
      assert.equal((await get('logs')).size_mb, 16)
    })

    it('answers bad bodies with 400 and the real messages', async () => {
      const cases: Array<[unknown, RegExp]> = [
        [{name: 'nosize'}, /Value of 'size_mb' is required/],
        [{size_mb: 0}, /Value of 'size_mb' must be in the range 1 to 1024/],
        [{size_mb: 1025}, /Value of 'size_mb' must be in the range 1 to 1024/],
        [{size_mb: 1.5}, /Value of 'size_mb' must be in the range 1 to 1024/],
        [{size_mb: 8, colour: 'red'}, /Unknown parameter 'colour'/],
        [{size_mb: 8, name: 'bad--name'}, /Invalid name/],
        [{size_mb: 8, template: {name: 'base'}}, /templates are not supported/],
        [[], /describe at least one volume/],
        ['pgdata', /expected an object with size_mb/],
      ]
      for (const [body, message] of cases) {
        const reply = await create(body)
        assert.equal(reply.status, 400, JSON.stringify(body))
        assert.equal(reply.body.status, 'error')
        assert.match(String(reply.body.message), message)
      }
    })

    it('refuses a second volume of the same name (23) but not another user’s', async () => {
      const clash = await create({name: 'pgdata', size_mb: 8})
      assert.equal(clash.body.status, 'error')
      assert.equal(first(clash).error, 23)
      assert.match(String(first(clash).message), /Volume with name 'pgdata' already exists/)
      const bobs = await create({name: 'pgdata', size_mb: 8}, 'bob')
      assert.equal(first(bobs).status, 'success')
    })

    it('gets all, by name, by ?name= and ?uuid=, and per item not found (8)', async () => {
      const all = items(await api.request('GET', '/volumes', {as: 'alice'}))
      assert.deepEqual(all.map((v) => v.name).sort().filter((n) => !String(n).startsWith('vol-')), ['logs', 'pgdata'])
      const pgdata = await get('pgdata')
      const byQuery = first(await api.request('GET', '/volumes?name=pgdata', {as: 'alice'}))
      assert.equal(byQuery.uuid, pgdata.uuid)
      const byUuid = first(await api.request('GET', `/volumes?uuid=${String(pgdata.uuid)}`, {as: 'alice'}))
      assert.equal(byUuid.name, 'pgdata')
      const local = first(await api.request('GET', `/volumes/${String(pgdata.uuid)}`, {as: 'alice'}))
      assert.equal(local.name, 'pgdata')
      const mixed = await api.request('GET', '/volumes', {as: 'alice', body: [{name: 'pgdata'}, {name: 'nope'}]})
      assert.equal(mixed.body.status, 'partial_success')
      assert.deepEqual(items(mixed)[1], {status: 'error', name: 'nope', error: 8, message: 'volume not found'})
    })

    it('keeps users apart: another user’s volume is "not found", by name and by uuid', async () => {
      const alices = await get('logs')
      const bobList = items(await api.request('GET', '/volumes', {as: 'bob'}))
      assert.ok(!bobList.some((v) => v.uuid === alices.uuid))
      const byUuid = first(await api.request('GET', '/volumes', {as: 'bob', body: [{uuid: alices.uuid}]}))
      assert.equal(byUuid.error, 8)
      const removeAsBob = first(await api.request('DELETE', '/volumes', {as: 'bob', body: [{uuid: alices.uuid}]}))
      assert.equal(removeAsBob.error, 8)
      const alicesInstance = await instance('alices-vm')
      const attachAsBob = first(await attach([{name: 'pgdata', attach_to: {uuid: alicesInstance.uuid}, at: '/data'}], 'bob'))
      assert.equal(attachAsBob.error, 8)
      assert.equal(attachAsBob.message, 'instance not found')
    })

    it('deletes a volume with its storage; deleting it again is not found', async () => {
      const logs = await get('logs')
      const deleted = await api.request('DELETE', '/volumes', {as: 'alice', body: [{name: 'logs'}]})
      assert.deepEqual(first(deleted), {status: 'success', uuid: logs.uuid, name: 'logs'})
      assert.equal(fs.existsSync(api.volumes.dataOf(String(logs.uuid))), false)
      const again = await api.request('DELETE', `/volumes/${String(logs.uuid)}`, {as: 'alice'})
      assert.equal(first(again).error, 8)
      const none = await api.request('DELETE', '/volumes', {as: 'alice'})
      assert.equal(none.status, 400)
    })
  })

  describe('attach and detach', () => {
    it('attaches to a stopped instance: idle while it is stopped, mounted while it runs', async () => {
      await create({name: 'data', size_mb: 8})
      const vm = await instance('vm')
      const attached = await attach([{name: 'data', attach_to: {name: 'vm'}, at: '/var/lib/data/', readonly: true}])
      assert.equal(first(attached).status, 'success')
      const volume = await get('data')
      assert.equal(volume.state, 'idle')
      assert.deepEqual(volume.attached_to, [{uuid: vm.uuid, name: 'vm'}])
      assert.deepEqual(volume.mounted_by, [])
      const shown = first(await api.request('GET', '/instances', {as: 'alice', body: [{name: 'vm'}]}), 'instances')
      assert.deepEqual(shown.volumes, [{uuid: volume.uuid, name: 'data', at: '/var/lib/data', readonly: true}])

      await api.request('PUT', '/instances/start', {as: 'alice', body: [{name: 'vm'}]})
      const mounted = await get('data')
      assert.equal(mounted.state, 'mounted')
      assert.deepEqual(mounted.mounted_by, [{uuid: vm.uuid, name: 'vm', readonly: true}])
    })

    it('refuses what the real API refuses, each with its code', async () => {
      await create({name: 'spare', size_mb: 4})
      await instance('idle-vm')
      const refusal = async (body: Item) => first(await attach([body]))
      // Attached already (to one instance at a time): 15.
      const twice = await refusal({name: 'data', attach_to: {name: 'idle-vm'}, at: '/data'})
      assert.equal(twice.error, 15)
      assert.match(String(twice.message), /Volume 'data' is already attached to instance 'vm'/)
      // The instance runs: 11.
      const running = await refusal({name: 'spare', attach_to: {name: 'vm'}, at: '/spare'})
      assert.equal(running.error, 11)
      assert.match(String(running.message), /Instance 'vm' must be stopped to attach a volume \(it is running\)/)
      // Missing volume or instance: 8.
      assert.equal((await refusal({name: 'nope', attach_to: {name: 'idle-vm'}, at: '/x'})).error, 8)
      assert.equal((await refusal({name: 'spare', attach_to: {name: 'nope'}, at: '/x'})).error, 8)
      // Malformed: 400.
      for (const [body, message] of [
        [{name: 'spare', at: '/x'}, /Value of 'attach_to' is required/],
        [{name: 'spare', attach_to: {name: 'idle-vm'}}, /Value of 'at' is required/],
        [{name: 'spare', attach_to: {name: 'idle-vm'}, at: 'relative'}, /must be an absolute path/],
        [{name: 'spare', attach_to: {name: 'idle-vm'}, at: '/a/../etc'}, /must not contain '\.' or '\.\.'/],
        [{name: 'spare', attach_to: {name: 'idle-vm'}, at: '/x', readonly: 'yes'}, /Value of 'readonly' must be a boolean/],
        [{name: 'spare', attach_to: 'idle-vm', at: '/x'}, /Value of 'attach_to' must be an object/],
      ] as Array<[Item, RegExp]>) {
        const reply = await attach([body])
        assert.equal(reply.status, 400, JSON.stringify(body))
        assert.match(String(reply.body.message), message)
      }
      // One path, one volume: 7.
      await attach([{name: 'spare', attach_to: {name: 'idle-vm'}, at: '/data'}])
      await create({name: 'other', size_mb: 4})
      const samePath = await refusal({name: 'other', attach_to: {name: 'idle-vm'}, at: '/data'})
      assert.equal(samePath.error, 7)
      assert.match(String(samePath.message), /already has a volume at \/data/)
    })

    it('refuses to delete an attached volume (15) and to detach from a running instance (11)', async () => {
      const deleted = first(await api.request('DELETE', '/volumes', {as: 'alice', body: [{name: 'data'}]}))
      assert.equal(deleted.error, 15)
      assert.match(String(deleted.message), /Volume 'data' is attached to instance 'vm'/)
      const detached = first(await detach([{name: 'data'}]))
      assert.equal(detached.error, 11)
      assert.match(String(detached.message), /must be stopped to detach/)
    })

    it('detaches: not attached (21), from the wrong instance (21), then from the right one', async () => {
      await create({name: 'loose', size_mb: 4})
      const loose = first(await detach([{name: 'loose'}]))
      assert.equal(loose.error, 21)
      assert.match(String(loose.message), /Volume 'loose' is not attached to any instance/)
      const wrong = first(await detach([{name: 'spare', from: {name: 'vm'}}]))
      assert.equal(wrong.error, 21)
      assert.match(String(wrong.message), /Volume 'spare' is not attached to instance 'vm'/)
      const ok = await detach([{name: 'spare', from: {name: 'idle-vm'}}])
      assert.equal(first(ok).status, 'success')
      assert.equal((await get('spare')).state, 'available')

      await api.request('PUT', '/instances/stop', {as: 'alice', body: [{name: 'vm'}]})
      assert.equal(first(await detach([{name: 'data', from: {name: 'vm'}}])).status, 'success')
      const shown = first(await api.request('GET', '/instances', {as: 'alice', body: [{name: 'vm'}]}), 'instances')
      assert.deepEqual(shown.volumes, [])
    })

    it('makes every acknowledged attach and detach durable', async () => {
      await attach([{name: 'data', attach_to: {name: 'idle-vm'}, at: '/srv'}])
      const reopened = new Store(api.dir)
      const data = reopened.listVolumes().find((v) => v.name === 'data')
      assert.ok(data)
      assert.equal(reopened.attachmentOf(data.uuid)?.instance.name, 'idle-vm')
      assert.equal(reopened.attachmentOf(data.uuid)?.mount.at, '/srv')
      await detach([{name: 'data'}])
      assert.equal(new Store(api.dir).attachmentOf(data.uuid), undefined)
    })
  })

  describe('instance create with volumes', () => {
    it('attaches existing volumes and makes new ones named vol-xxxxx that go with the instance', async () => {
      await create({name: 'keep', size_mb: 8})
      const made = await instance('db', {volumes: [{name: 'keep', at: '/var/lib/postgresql/data'}, {size_mb: 4, at: '/scratch', readonly: false}]})
      assert.equal(made.status, 'success')
      const mounts = made.volumes as Item[]
      assert.equal(mounts[0].name, 'keep')
      assert.match(String(mounts[1].name), /^vol-[a-z0-9]{5}$/)
      const scratch = await get(String(mounts[1].name))
      assert.equal(scratch.persistent, false)
      assert.equal(scratch.state, 'idle')
      assert.ok(fs.existsSync(api.volumes.dataOf(String(scratch.uuid))))

      await api.request('DELETE', '/instances', {as: 'alice', body: [{name: 'db'}]})
      assert.equal((await get(String(mounts[1].name))).error, 8)
      assert.equal(fs.existsSync(api.volumes.dataOf(String(scratch.uuid))), false)
      const kept = await get('keep')
      assert.equal(kept.state, 'available')
      assert.ok(fs.existsSync(api.volumes.dataOf(String(kept.uuid))))
    })

    it('keeps a volume made with an instance once it was detached (it becomes persistent)', async () => {
      const made = await instance('tmp', {volumes: [{size_mb: 2, at: '/data'}]})
      const name = String((made.volumes as Item[])[0].name)
      await detach([{name}])
      assert.equal((await get(name)).persistent, true)
      await api.request('DELETE', '/instances', {as: 'alice', body: [{name: 'tmp'}]})
      assert.equal((await get(name)).state, 'available')
    })

    it('gives each replica its own new volumes and refuses an existing volume for replicas', async () => {
      const made = await api.request('POST', '/instances', {as: 'alice', body: {image: 'ukc/hello', name: 'rep', replicas: 2, volumes: [{size_mb: 1, at: '/d'}]}})
      const names = items(made, 'instances').map((i) => (i.volumes as Item[])[0].name)
      assert.equal(new Set(names).size, 3)
      const refused = await api.request('POST', '/instances', {as: 'alice', body: {image: 'ukc/hello', replicas: 1, volumes: [{name: 'keep', at: '/d'}]}})
      assert.equal(refused.status, 400)
      assert.match(String(refused.body.message), /attached to one instance only/)
    })

    it('refuses missing (8) and attached (15) volumes per item, and malformed ones with 400', async () => {
      const missing = first(await api.request('POST', '/instances', {as: 'alice', body: {image: 'ukc/hello', volumes: [{name: 'nope', at: '/d'}]}}), 'instances')
      assert.equal(missing.error, 8)
      assert.equal(missing.message, 'volume not found')
      await instance('holder', {volumes: [{name: 'keep', at: '/k'}]})
      const taken = first(await api.request('POST', '/instances', {as: 'alice', body: {image: 'ukc/hello', name: 'thief', volumes: [{name: 'keep', at: '/k'}]}}), 'instances')
      assert.equal(taken.error, 15)
      assert.equal(api.store.instanceByName(api.users[0].uuid, 'thief'), undefined)
      for (const [volumes, message] of [
        [[{name: 'keep', size_mb: 4, at: '/d'}], /either an existing one .* or a new one/],
        [[{at: '/d'}], /needs the uuid or the name of an existing volume, or size_mb/],
        [[{size_mb: 4}], /Value of 'at' is required/],
        [[{size_mb: 4, at: '/d', colour: 1}], /Unknown parameter 'volumes.colour'/],
        [{name: 'keep'}, /Value of 'volumes' must be an array/],
      ] as Array<[unknown, RegExp]>) {
        const reply = await api.request('POST', '/instances', {as: 'alice', body: {image: 'ukc/hello', volumes}})
        assert.equal(reply.status, 400, JSON.stringify(volumes))
        assert.match(String(reply.body.message), message)
      }
      const twoAtOnePath = first(await api.request('POST', '/instances', {as: 'alice', body: {image: 'ukc/hello', volumes: [{size_mb: 1, at: '/d'}, {size_mb: 1, at: '/d/'}]}}), 'instances')
      assert.equal(twoAtOnePath.error, 7)
    })
  })

  describe('quotas and recovery', () => {
    it('counts volumes and their sizes in the quota and refuses past it (19)', async () => {
      for (let i = 0; i < 10; i++) assert.equal(first(await create({name: `big-${i}`, size_mb: 1024}, 'quota')).status, 'success')
      const over = first(await create({name: 'one-more', size_mb: 1}, 'quota'))
      assert.equal(over.error, 19)
      assert.match(String(over.message), /Quota exhausted: volumes would take 10241 MiB of at most 10240 MiB/)
      const viaInstance = first(await api.request('POST', '/instances', {as: 'quota', body: {image: 'ukc/hello', volumes: [{size_mb: 1, at: '/d'}]}}), 'instances')
      assert.equal(viaInstance.error, 19)
      const [quota] = items(await api.request('GET', '/users/quotas', {as: 'quota'}), 'quotas')
      assert.deepEqual(quota.used && {volumes: (quota.used as Item).volumes, total: (quota.used as Item).total_volume_mb}, {volumes: 10, total: 10240})
      assert.deepEqual(quota.hard && {volumes: (quota.hard as Item).volumes, total: (quota.hard as Item).total_volume_mb}, {volumes: 253, total: 10240})
    })

    it('makes the storage of a volume a killed daemon left uninitialized', async () => {
      const user = api.users[0]
      const uuid = '00000000-0000-4000-8000-000000000042'
      api.store.setVolume({uuid, name: 'half-made', user: user.uuid, size_mb: 4, created_at: new Date().toISOString(), persistent: true, phase: 'uninitialized'})
      await api.store.flush()
      assert.equal((await get('half-made')).state, 'uninitialized')
      const refused = first(await api.request('DELETE', '/volumes', {as: 'alice', body: [{name: 'half-made'}]}))
      assert.equal(refused.error, 24)
      await api.server.router.volumes.restore()
      assert.equal((await get('half-made')).state, 'available')
      assert.ok(fs.statSync(api.volumes.dataOf(uuid)).isDirectory())
      assert.equal(new Store(api.dir).volume(uuid)?.phase, 'available')
    })
  })
})
