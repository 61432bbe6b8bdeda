import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, describe, it} from 'node:test'

import {Store} from '../../src/platform/store/index.js'
import type {InstanceRecord} from '../../src/platform/types.js'

function instance(user: string, uuid: string, addresses: {private_ip: string; backend_ip: string}): InstanceRecord {
  return {
    uuid, name: `i-${uuid}`, user, image: 'ukc/hello', args: [], env: {}, memory_mb: 128, vcpus: 1, restart_policy: 'never',
    scale_to_zero: {policy: 'off'}, features: [], ...addresses, ports: [8080], volumes: [], state: 'stopped', desired: 'running',
    created_at: new Date().toISOString(), start_count: 0, restart_count: 0, restart_attempt: 0,
  }
}

describe('platform store', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-store-'))
  after(() => fs.rmSync(dir, {recursive: true, force: true}))

  it('keeps users, their tokens and instances across a reopen, in a 0600 file', async () => {
    const store = new Store(dir)
    const [alice, bob] = await store.ensureUsers(['alice', 'bob'])
    assert.equal(alice.index, 0)
    assert.equal(bob.index, 1)
    assert.match(Buffer.from(alice.token, 'base64').toString(), /^robot\$alice\.users\.kraftcloud:[0-9a-f]{32}$/)
    const a = store.allocateAddresses(alice)
    assert.match(a.private_ip, /^127\.16\.\d+\.\d+$/)
    assert.equal(a.backend_ip, a.private_ip.replace(/^127\.16\./, '127.32.'))
    const next = (ip: string) => {
      const [, , x, y] = ip.split('.').map(Number)
      const n = ((x << 8) | y) % 65534 + 1
      return `${n >> 8}.${n & 255}`
    }
    store.setInstance(instance(alice.uuid, 'one', a))
    await store.flush()
    await store.updateInstance('one', {state: 'running', pid: 42})
    await store.updateInstance('one', {pid: undefined})

    const reopened = new Store(dir)
    assert.equal(reopened.userByToken(alice.token)?.name, 'alice')
    const [again] = await reopened.ensureUsers(['alice'])
    assert.equal(again.token, alice.token)
    assert.equal(reopened.instance('one')?.state, 'running')
    assert.equal(reopened.instance('one')?.pid, undefined)
    const b = reopened.allocateAddresses(bob)
    assert.match(b.private_ip, /^127\.17\./)
    assert.match(b.backend_ip, /^127\.33\./)
    // The sequence continues where it was after a reopen.
    assert.equal(reopened.allocateAddresses(alice).private_ip, `127.16.${next(a.private_ip)}`)
    assert.equal(fs.statSync(path.join(dir, 'state.json')).mode & 0o777, 0o600)
  })

  it('resolves every concurrent change only once it is on disk', async () => {
    const store = new Store(dir)
    const [alice] = await store.ensureUsers(['alice'])
    const writes = Array.from({length: 20}, (_, i) => {
      store.setInstance(instance(alice.uuid, `c${i}`, store.allocateAddresses(alice)))
      return store.flush()
    })
    await Promise.all(writes)
    const onDisk = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')) as {instances: Array<{uuid: string}>}
    for (let i = 0; i < 20; i++) assert.ok(onDisk.instances.some((r) => r.uuid === `c${i}`))
  })

  it('routes a public FQDN to its service and the attached instances with their current state', async () => {
    const store = new Store(dir)
    const [alice] = await store.ensureUsers(['alice'])
    store.setService({
      uuid: 'svc', name: 'web', user: alice.uuid, created_at: new Date().toISOString(), persistent: false, soft_limit: 1, hard_limit: 10,
      services: [{port: 443, destination_port: 8080, handlers: ['http', 'tls']}], domains: ['web.local.localhost'],
    })
    store.setInstance({...instance(alice.uuid, 'r1', store.allocateAddresses(alice)), service_uuid: 'svc'})
    store.setInstance({...instance(alice.uuid, 'r2', store.allocateAddresses(alice)), service_uuid: 'svc'})
    await store.updateInstance('r2', {state: 'standby'})
    const route = store.route('WEB.local.localhost.')
    assert.equal(route?.serviceUuid, 'svc')
    assert.equal(route?.hardLimit, 10)
    assert.deepEqual(route?.instances.map((i) => `${i.uuid}:${i.state}`).sort(), ['r1:stopped', 'r2:standby'])
    store.removeInstance('r1')
    assert.deepEqual(store.route('web.local.localhost')?.instances.map((i) => i.uuid), ['r2'])
    assert.equal(store.route('other.local.localhost'), undefined)
  })

  it('keeps args and env out of the state file (one 0600 file per instance), so state writes stay small', async () => {
    const own = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-store-specs-'))
    try {
      const store = new Store(own)
      const [alice] = await store.ensureUsers(['alice'])
      const env = {BIG: 'x'.repeat(60 * 1024), MODE: 'prod'}
      for (let i = 0; i < 40; i++) store.setInstance({...instance(alice.uuid, `big${i}`, store.allocateAddresses(alice)), env, args: ['--flag', `v${i}`]})
      await store.flush()
      const stateBytes = fs.statSync(path.join(own, 'state.json')).size
      assert.ok(stateBytes < 40 * 1024, `state.json is ${stateBytes} bytes with 40 instances of 60 KiB env`)
      assert.equal(fs.statSync(path.join(own, 'specs', 'big7.json')).mode & 0o777, 0o600)
      await store.updateInstance('big3', {state: 'running'})

      const reopened = new Store(own)
      assert.deepEqual(reopened.instance('big7')?.env, env)
      assert.deepEqual(reopened.instance('big7')?.args, ['--flag', 'v7'])
      assert.equal(reopened.instance('big3')?.state, 'running')
      reopened.removeInstance('big7')
      await reopened.flush()
      assert.equal(fs.existsSync(path.join(own, 'specs', 'big7.json')), false)
    } finally {
      fs.rmSync(own, {recursive: true, force: true})
    }
  })

  it('moves args and env of an older state file (inline) into their own files on the next write', async () => {
    const own = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-store-old-'))
    try {
      const old = {version: 1, users: [], services: [], seq: {}, instances: [{...instance('u', 'legacy', {private_ip: '127.16.0.9', backend_ip: '127.32.0.9'}), env: {A: '1'}, args: ['x']}]}
      fs.writeFileSync(path.join(own, 'state.json'), JSON.stringify(old))
      const store = new Store(own)
      assert.deepEqual(store.instance('legacy')?.env, {A: '1'})
      await store.flush()
      const onDisk = JSON.parse(fs.readFileSync(path.join(own, 'state.json'), 'utf8')) as {instances: Array<Record<string, unknown>>}
      assert.equal(onDisk.instances[0]?.env, undefined)
      assert.deepEqual(new Store(own).instance('legacy')?.args, ['x'])
    } finally {
      fs.rmSync(own, {recursive: true, force: true})
    }
  })
})
