import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import '../setup.js'
import {ApiFixture} from './api-fixture.js'

type Obj = Record<string, unknown>

describe('platform API v1', () => {
  const api = new ApiFixture()
  before(() => api.start())
  after(() => api.close())

  describe('authentication', () => {
    it('refuses the root and every endpoint without a token', async () => {
      for (const path of ['/', '/instances']) {
        const reply = await api.request('GET', path)
        assert.equal(reply.status, 401)
        assert.equal(reply.body.status, 'error')
        assert.ok(reply.body.message)
      }
    })

    it('refuses an unknown token', async () => {
      const forged = Buffer.from('robot$alice.users.kraftcloud:0000').toString('base64')
      const reply = await api.request('GET', '/instances', {token: forged})
      assert.equal(reply.status, 401)
      assert.equal(reply.body.status, 'error')
    })

    it('answers a known token with an envelope that always has data', async () => {
      const reply = await api.request('GET', '/instances', {as: 'alice'})
      assert.equal(reply.status, 200)
      assert.deepEqual(reply.body, {status: 'success', data: {instances: []}})
    })
  })

  describe('instance create', () => {
    it('creates with a generated name, defaults and a private address', async () => {
      const reply = await api.request('POST', '/instances', {as: 'alice', body: {image: 'ukc/hello:latest'}})
      assert.equal(reply.status, 200)
      const [instance] = reply.body.data?.instances ?? []
      assert.match(String(instance.name), /^hello-[a-z0-9]{5}$/)
      assert.equal(instance.memory_mb, 128)
      assert.equal(instance.vcpus, 1)
      assert.equal(instance.state, 'stopped')
      assert.match(String(instance.private_ip), /^127\.16\.\d+\.\d+$/)
      assert.equal(instance.private_fqdn, `${String(instance.name)}.internal`)
      assert.equal(instance.service_group, undefined)
    })

    it('rejects an out-of-range memory size with the real message', async () => {
      const reply = await api.request('POST', '/instances', {as: 'alice', body: {image: 'ukc/hello:latest', memory_mb: 8192}})
      assert.equal(reply.status, 400)
      assert.deepEqual(reply.body, {status: 'error', message: "Value of 'memory_mb' must be in the range 16 to 4096"})
    })

    it('rejects bad names, lower-cases upper case', async () => {
      for (const name of ['bad--name', 'ends-', 'has space', 'x'.repeat(64)]) {
        const reply = await api.request('POST', '/instances', {as: 'alice', body: {image: 'ukc/hello', name}})
        assert.equal(reply.status, 400, name)
        assert.equal(reply.body.message, 'Invalid name')
      }
      const ok = await api.request('POST', '/instances', {as: 'alice', body: {image: 'ukc/hello', name: '1Upper'}})
      assert.equal(ok.body.data?.instances[0].name, '1upper')
    })

    it('applies the handler and port rules', async () => {
      const cases: Array<[Obj, string]> = [
        [{port: 70000, destination_port: 8080}, "Value of 'port' in service port description must be in the range 1 to 65535"],
        [{port: 443, destination_port: 0}, "Value of 'destination_port' in service port description must be in the range 1 to 65535"],
        [{port: 443, destination_port: 8080, handlers: ['tls']}, "Port 443 must have the 'http' and 'tls' handlers"],
        [{port: 80, destination_port: 8080, handlers: ['http', 'tls']}, "Port 80 must have the 'http' handler and must not have the 'tls' handler"],
        [{port: 8443, destination_port: 8080, handlers: ['tls', 'redirect']}, "The 'redirect' handler is only allowed on port 80"],
        [{port: 6379, destination_port: 6379, handlers: ['http', 'tls']}, "Port 6379 must have the 'tls' handler and must not have the 'http' handler"],
      ]
      for (const [port, message] of cases) {
        const reply = await api.request('POST', '/instances', {as: 'alice', body: {image: 'ukc/hello', service_group: {services: [port]}}})
        assert.equal(reply.status, 400)
        assert.equal(reply.body.message, message)
      }
    })

    it('reports an unknown image per item', async () => {
      const reply = await api.request('POST', '/instances', {as: 'alice', body: {image: 'nope:1'}})
      assert.equal(reply.status, 200)
      assert.equal(reply.body.status, 'error')
      const [item] = reply.body.data?.instances ?? []
      assert.equal(item.status, 'error')
      assert.equal(item.error, 8)
      assert.equal(item.message, 'no image with name: nope:1')
    })

    it('reports a name clash as already-exists (code 23)', async () => {
      await api.request('POST', '/instances', {as: 'alice', body: {image: 'ukc/hello', name: 'dup'}})
      const reply = await api.request('POST', '/instances', {as: 'alice', body: {image: 'ukc/hello', name: 'dup'}})
      assert.equal(reply.status, 200)
      assert.equal(reply.body.status, 'error')
      const [item] = reply.body.data?.instances ?? []
      assert.equal(item.error, 23)
      assert.match(String(item.message), /already exists/)
    })

    it('creates replicas and an implicit service with subdomain, 443+80 and a generated name', async () => {
      const reply = await api.request('POST', '/instances', {
        as: 'alice',
        body: {
          image: 'ukc/hello',
          name: 'web',
          replicas: 2,
          autostart: true,
          service_group: {services: [{port: 443, destination_port: 8080, handlers: ['http', 'tls']}, {port: 80, destination_port: 443, handlers: ['http', 'redirect']}], domains: [{name: 'shop'}]},
        },
      })
      const items = reply.body.data?.instances ?? []
      assert.equal(items.length, 3)
      assert.equal(items[0].name, 'web')
      for (const replica of items.slice(1)) assert.match(String(replica.name), /^web-[a-z0-9]{5}$/)
      const group = items[0].service_group as {uuid: string; name: string; domains: Array<{fqdn: string}>}
      assert.deepEqual(group.domains, [{fqdn: 'shop.local.localhost'}])
      assert.match(group.name, /^[a-z]+-[a-z]+-[a-z0-9]{8}$/)
      for (const item of items) assert.equal((item.service_group as {uuid: string}).uuid, group.uuid)
      assert.equal(api.runtime.started.length >= 3, true)

      const route = api.store.route('shop.local.localhost')
      assert.equal(route?.instances.length, 3)

      // A taken domain is refused for everyone, per item.
      const clash = await api.request('POST', '/instances', {as: 'bob', body: {image: 'ukc/hello', service_group: {services: [{port: 443, destination_port: 8080}], domains: [{name: 'shop'}]}}})
      assert.equal(clash.body.data?.instances[0].error, 23)
    })

    it('names a named service <name>-<8 random> and keeps FQDNs with a trailing dot as they are', async () => {
      const svc = await api.request('POST', '/services', {as: 'alice', body: {name: 'api', services: [{port: 443, destination_port: 8080}]}})
      const [group] = svc.body.data?.service_groups ?? []
      assert.match(String((group.domains as Array<{fqdn: string}>)[0].fqdn), /^api-[a-z0-9]{8}\.local\.localhost$/)
      assert.equal(group.persistent, true)
      const custom = await api.request('POST', '/services', {as: 'alice', body: {services: [{port: 443, destination_port: 8080}], domains: [{name: 'WWW.Example.test.'}]}})
      const [domain] = custom.body.data?.service_groups[0].domains as Array<{fqdn: string; certificate?: {name: string; state: string}}>
      assert.equal(domain.fqdn, 'www.example.test')
      // A custom domain given without a certificate gets one of its own (api-certificates.test.ts).
      assert.match(String(domain.certificate?.name), /^www\.example\.test-[a-z0-9]{5}$/)
      assert.deepEqual(api.published, [])
      await api.request('POST', '/services', {as: 'alice', body: {services: [{port: 6379, destination_port: 6379, handlers: ['tls']}]}})
      assert.deepEqual(api.published, [6379])
    })

    it('validates scale_to_zero and boots a scale-to-zero instance even without autostart', async () => {
      const bad = await api.request('POST', '/instances', {as: 'alice', body: {image: 'ukc/hello', scale_to_zero: {policy: 'on', cooldown_time_ms: -1}}})
      assert.equal(bad.status, 400)
      assert.equal(bad.body.message, "Value of 'cooldown_time_ms' must be in the range 0 to 86400000")
      const ok = await api.request('POST', '/instances', {as: 'alice', body: {image: 'ukc/hello', scale_to_zero: {policy: 'idle', stateful: true}}})
      const [instance] = ok.body.data?.instances ?? []
      assert.ok(api.runtime.started.includes(String(instance.uuid)))
      assert.deepEqual(instance.scale_to_zero, {policy: 'idle', stateful: true, cooldown_time_ms: 1000, enabled: true})
    })
  })

  describe('batch operations', () => {
    it('get by name and uuid, with a missing item as partial success', async () => {
      const created = await api.request('POST', '/instances', {as: 'alice', body: {image: 'ukc/echo', name: 'getme'}})
      const uuid = String(created.body.data?.instances[0].uuid)
      const reply = await api.request('GET', '/instances', {as: 'alice', body: [{name: 'getme'}, {uuid}, {name: 'missing'}]})
      assert.equal(reply.status, 200)
      assert.equal(reply.body.status, 'partial_success')
      const [byName, byUuid, missing] = reply.body.data?.instances ?? []
      assert.equal(byName.uuid, uuid)
      assert.equal(byUuid.name, 'getme')
      assert.deepEqual(missing, {status: 'error', name: 'missing', error: 8, message: 'instance not found'})

      const query = await api.request('GET', `/instances?name=getme`, {as: 'alice'})
      assert.equal(query.body.data?.instances.length, 1)
      const local = await api.request('GET', `/instances/${uuid}`, {as: 'alice'})
      assert.equal(local.body.data?.instances[0].name, 'getme')
    })

    it('starts, stops, logs and deletes; implicit services go with their last instance', async () => {
      const created = await api.request('POST', '/instances', {as: 'alice', body: {image: 'ukc/hello', name: 'cycle', service_group: {services: [{port: 443, destination_port: 8080}]}}})
      const serviceUuid = (created.body.data?.instances[0].service_group as {uuid: string}).uuid
      const started = await api.request('PUT', '/instances/start', {as: 'alice', body: [{name: 'cycle'}]})
      assert.equal(started.body.data?.instances[0].previous_state, 'stopped')
      assert.equal(api.store.instanceByName(api.users[0].uuid, 'cycle')?.desired, 'running')
      const stopped = await api.request('PUT', '/instances/stop', {as: 'alice', body: [{name: 'cycle', force: true}]})
      assert.equal(stopped.body.data?.instances[0].state, 'stopped')
      const log = await api.request('GET', '/instances/log', {as: 'alice', body: [{name: 'cycle', offset: 0, limit: 5}]})
      const window = log.body.data?.instances[0] ?? {}
      assert.equal(Buffer.from(String(window.output), 'base64').toString(), 'hello')
      assert.deepEqual(window.range, {start: 0, end: 5})

      const refused = await api.request('DELETE', '/services', {as: 'alice', body: [{uuid: serviceUuid}]})
      assert.equal(refused.body.data?.service_groups[0].error, 15)
      const deleted = await api.request('DELETE', '/instances', {as: 'alice', body: [{name: 'cycle'}]})
      assert.equal(deleted.body.data?.instances[0].previous_state, 'stopped')
      assert.equal(api.store.service(serviceUuid), undefined)
    })

    it('deletes a delete-on-stop instance when it stops', async () => {
      await api.request('POST', '/instances', {as: 'alice', body: {image: 'ukc/hello', name: 'ephemeral', autostart: true, features: ['delete-on-stop']}})
      await api.request('PUT', '/instances/stop', {as: 'alice', body: [{name: 'ephemeral'}]})
      const deadline = Date.now() + 5000
      while (api.store.instanceByName(api.users[0].uuid, 'ephemeral') && Date.now() < deadline) await new Promise((r) => setImmediate(r))
      assert.equal(api.store.instanceByName(api.users[0].uuid, 'ephemeral'), undefined)
    })

    it('requires refs for start/stop/delete (400)', async () => {
      const reply = await api.request('PUT', '/instances/stop', {as: 'alice'})
      assert.equal(reply.status, 400)
      assert.equal(reply.body.status, 'error')
    })
  })

  describe('per-user scope', () => {
    it('user B cannot list, get, stop or delete user A objects; names are per user', async () => {
      const a = await api.request('POST', '/instances', {as: 'alice', body: {image: 'ukc/hello', name: 'private'}})
      const uuid = String(a.body.data?.instances[0].uuid)
      const list = await api.request('GET', '/instances', {as: 'bob'})
      assert.ok(!(list.body.data?.instances ?? []).some((i) => i.uuid === uuid || i.name === 'private'))
      for (const [method, path] of [['GET', '/instances'], ['PUT', '/instances/stop'], ['DELETE', '/instances']] as const) {
        const reply = await api.request(method, path, {as: 'bob', body: [{uuid}]})
        assert.equal(reply.body.data?.instances[0].error, 8, `${method} ${path}`)
      }
      const local = await api.request('DELETE', `/instances/${uuid}`, {as: 'bob'})
      assert.equal(local.body.data?.instances[0].error, 8)
      assert.ok(api.store.instance(uuid))
      const same = await api.request('POST', '/instances', {as: 'bob', body: {image: 'ukc/hello', name: 'private'}})
      assert.equal(same.body.status, 'success')
      assert.match(String(same.body.data?.instances[0].private_ip), /^127\.17\./)
      const services = await api.request('GET', '/services', {as: 'bob'})
      assert.ok((services.body.data?.service_groups ?? []).every((s) => !String(s.name).startsWith('api')))
    })
  })

  describe('images and quotas', () => {
    it('lists the catalog and finds one tag', async () => {
      const all = await api.request('GET', '/images/list', {as: 'alice'})
      assert.ok((all.body.data?.images ?? []).some((i) => (i.tags as string[]).includes('ukc/hello:latest')))
      const missing = await api.request('GET', '/images/list', {as: 'alice', body: [{tag: 'nginx:latest'}]})
      assert.equal(missing.body.data?.images[0].message, 'no image with name: nginx:latest')
    })

    it('reports usage and limits', async () => {
      const reply = await api.request('GET', '/users/quotas', {as: 'bob'})
      const [quota] = reply.body.data?.quotas ?? []
      assert.equal((quota.used as {instances: number}).instances, api.store.listInstances(api.users[1].uuid).length)
      assert.equal((quota.limits as {max_memory_mb: number}).max_memory_mb, 4096)
    })

    it('answers unknown endpoints with 404 in the envelope shape', async () => {
      const reply = await api.request('GET', '/no-such-collection', {as: 'alice'})
      assert.equal(reply.status, 404)
      assert.equal(reply.body.status, 'error')
    })
  })
})
