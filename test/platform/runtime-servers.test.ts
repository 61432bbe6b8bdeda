// Images backed by real servers on the host: postgres, redis, nginx, reached on their private endpoints.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import {after, before, describe, it} from 'node:test'

import {Redis} from 'ioredis'
import pg from 'pg'

import {Runtime} from '../../src/platform/runtime/index.js'
import {descendantsOf} from '../../src/platform/runtime/instance-process.js'
import type {UserRecord} from '../../src/platform/types.js'
import {httpGet, missingBinary as missing, RuntimeFixture} from './runtime-fixture.js'

/** The kernel's one-letter process state (T = stopped). */
function processState(pid: number): string {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
}

describe('host server images', () => {
  let fixture: RuntimeFixture
  let dave: UserRecord

  before(async () => {
    fixture = await RuntimeFixture.create()
    dave = fixture.user('dave', 11)
  })
  after(() => fixture.close())

  it('postgres answers a query on its private endpoint with POSTGRES_PASSWORD', {skip: missing('postgres')}, async () => {
    const record = fixture.instance(dave, 'postgres:16', {
      env: {POSTGRES_PASSWORD: 's3cret', POSTGRES_USER: 'app', POSTGRES_DB: 'shop'},
    })
    await fixture.runtime.start(record.uuid)
    assert.equal(fixture.get(record.uuid).state, 'running')
    const client = new pg.Client({host: record.private_ip, port: 5432, user: 'app', password: 's3cret', database: 'shop'})
    await client.connect()
    try {
      const result = await client.query<{db: string; answer: number}>('select current_database() as db, 6 * 7 as answer')
      assert.deepEqual(result.rows[0], {db: 'shop', answer: 42})
    } finally {
      await client.end()
    }
    const wrong = new pg.Client({host: record.private_ip, port: 5432, user: 'app', password: 'wrong', database: 'shop'})
    await assert.rejects(wrong.connect(), /password authentication failed/)
    await wrong.end().catch(() => {})

    // Second boot reuses the initialized data dir.
    await fixture.runtime.stop(record.uuid, {force: false, drainTimeoutMs: 0, reason: 'user'})
    assert.equal(fixture.get(record.uuid).exit_code, 0, 'postgres shut down cleanly')
    await fixture.runtime.start(record.uuid)
    const again = new pg.Client({host: record.private_ip, port: 5432, user: 'app', password: 's3cret', database: 'shop'})
    await again.connect()
    assert.equal((await again.query<{n: number}>('select 1 as n')).rows[0].n, 1)
    await again.end()
    await fixture.runtime.stop(record.uuid, {force: false, drainTimeoutMs: 0, reason: 'user'})
  })

  it('postgres: stateful standby freezes every server process; a query wakes it', {skip: missing('postgres')}, async () => {
    const record = fixture.instance(dave, 'postgres:15', {
      env: {POSTGRES_HOST_AUTH_METHOD: 'trust'},
      scale_to_zero: {policy: 'on', stateful: true, cooldown_time_ms: 300},
    })
    await fixture.runtime.start(record.uuid)
    assert.equal(await fixture.runtime.waitFor(record.uuid, 'standby', 10_000), 'standby')
    const pid = fixture.get(record.uuid).pid as number
    const server = [pid, ...descendantsOf(pid)]
    assert.ok(server.length > 1, 'postgres runs helper processes')
    await fixture.until('every postgres process to be frozen', () => server.every((p) => processState(p) === 'T'))
    const client = new pg.Client({host: record.private_ip, port: 5432, user: 'postgres'})
    await client.connect()
    assert.equal((await client.query<{n: number}>('select 2 as n')).rows[0].n, 2)
    await client.end()
    await fixture.runtime.stop(record.uuid, {force: false, drainTimeoutMs: 0, reason: 'user'})
    assert.equal(fixture.get(record.uuid).exit_code, 0)
  })

  it('postgres comes back after the platform died without stopping it', {skip: missing('postgres')}, async () => {
    const record = fixture.instance(dave, 'postgres:15', {env: {POSTGRES_PASSWORD: 'pw'}})
    await fixture.runtime.start(record.uuid)
    const old = fixture.get(record.uuid).pid as number
    // A second runtime on the same data dir plays the restarted daemon; the first one is abandoned.
    const successor = new Runtime({...fixture.options(), log: () => {}})
    fixture.records.set(record.uuid, {...fixture.get(record.uuid), state: 'stopped'})
    await successor.start(record.uuid)
    assert.notEqual(fixture.get(record.uuid).pid, old)
    const client = new pg.Client({host: record.private_ip, port: 5432, user: 'postgres', password: 'pw'})
    await client.connect()
    assert.equal((await client.query<{n: number}>('select 3 as n')).rows[0].n, 3)
    await client.end()
    await successor.shutdown()
  })

  it('redis answers PING', {skip: missing('redis-server')}, async () => {
    const record = fixture.instance(dave, 'redis:7')
    await fixture.runtime.start(record.uuid)
    const redis = new Redis({host: record.private_ip, port: 6379, lazyConnect: true, maxRetriesPerRequest: 0})
    await redis.connect()
    try {
      assert.equal(await redis.ping(), 'PONG')
      await redis.set('k', 'v')
      assert.equal(await redis.get('k'), 'v')
    } finally {
      redis.disconnect()
    }
    await fixture.runtime.stop(record.uuid, {force: false, drainTimeoutMs: 0, reason: 'user'})
  })

  it('nginx serves its default page on 8080', {skip: missing('nginx')}, async () => {
    const record = fixture.instance(dave, 'nginx:latest')
    await fixture.runtime.start(record.uuid)
    const page = await httpGet(record.private_ip, 8080)
    assert.equal(page.status, 200)
    assert.match(page.body, new RegExp(`Welcome to nginx on ${record.name}`))
    await fixture.runtime.stop(record.uuid, {force: false, drainTimeoutMs: 0, reason: 'user'})
    assert.equal(fixture.get(record.uuid).state, 'stopped')
  })
})
