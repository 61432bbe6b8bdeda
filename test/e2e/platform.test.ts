import assert from 'node:assert/strict'
import https from 'node:https'
import {after, before, describe, it} from 'node:test'

import {UkcClient, createInstance, firstOrThrow} from '../../src/api/index.js'
import type {Image, Instance} from '../../src/api/types.js'
import {Cli, type Started, buildIfStale, until, viaGateway, viaPrivate} from './platform-harness.js'

const fqdnOf = (instance: Instance): string => instance.service_group?.domains?.[0]?.fqdn ?? ''

describe('ukc local: the embedded platform end to end', () => {
  const cli = new Cli()
  let platform: Started
  let ca: string
  const gatewayPort = () => platform.gateway.ports['443']

  const get = async (name: string, as = 'alice'): Promise<Instance> => (await cli.json<Instance[]>(['instance', 'get', name], {as}))[0]
  const list = (as = 'alice') => cli.json<Instance[]>(['instance', 'list'], {as})
  const stateIs = (name: string, state: string) => async () => ((await get(name)).state === state ? true : undefined)

  before(async () => {
    await buildIfStale()
    platform = await cli.start()
    ca = cli.ca()
  })
  after(() => cli.cleanup())

  it('starts once, reports tokens per user, and a second start reports the running one', async () => {
    assert.equal(platform.metro, 'local')
    assert.match(platform.url, /^https:\/\/127\.0\.0\.1:\d+\/v1$/)
    assert.deepEqual(platform.users.map((u) => u.name), ['alice', 'bob'])
    const again = await cli.json<Started>(['local', 'start'])
    assert.equal(again.pid, platform.pid)
    assert.equal(again.started, false)
    const status = await cli.json<{running: boolean; healthy: boolean; pid: number}>(['local', 'status'])
    assert.deepEqual([status.running, status.healthy, status.pid], [true, true, platform.pid])
  })

  it('creates, lists, gets, stops, starts and removes an instance; serves it over HTTPS through the gateway', async () => {
    const [created] = await cli.json<Instance[]>(['instance', 'create', '--name', 'web', '-p', '443:8080', '--start', '--wait', 'ukc/hello'], {as: 'alice'})
    assert.equal(created.name, 'web')
    assert.equal(created.state, 'running')
    assert.equal(created.private_fqdn, 'web.internal')
    assert.ok((created.boot_time_us ?? 0) > 0)
    const fqdn = fqdnOf(created)
    assert.match(fqdn, /\.local\.localhost$/)

    assert.ok((await list()).some((i) => i.name === 'web'))
    assert.equal((await get('web')).uuid, created.uuid)

    const reply = await viaGateway(fqdn, gatewayPort(), ca)
    assert.deepEqual(reply, {status: 200, body: 'Hello from web\n'})

    await cli.json(['instance', 'stop', 'web'], {as: 'alice'})
    assert.equal((await get('web')).state, 'stopped')
    await cli.json(['instance', 'start', 'web', '--wait', '20s'], {as: 'alice'})
    await until('web running again', stateIs('web', 'running'))
    assert.equal((await get('web')).start_count, 2)
    assert.equal((await viaGateway(fqdn, gatewayPort(), ca)).body, 'Hello from web\n')

    await cli.json(['instance', 'remove', 'web'], {as: 'alice'})
    assert.ok(!(await list()).some((i) => i.name === 'web'))
  })

  it('balances requests across three replicas of a service', async () => {
    const created = await cli.json<Instance[]>(['instance', 'create', '--name', 'trio', '--replicas', '2', '-p', '443:8080', '--start', '--wait', 'ukc/hello'], {as: 'alice'})
    assert.equal(created.length, 3)
    const fqdn = fqdnOf(created[0])
    const replies = await Promise.all(Array.from({length: 30}, () => viaGateway(fqdn, gatewayPort(), ca)))
    const served = new Set(replies.map((r) => r.body.trim()))
    assert.deepEqual([...served].sort(), created.map((i) => `Hello from ${i.name}`).sort())
  })

  it('puts an idle instance on standby and wakes it by a public and by an internal connection', async () => {
    const [sleepy] = await cli.json<Instance[]>(
      ['instance', 'create', '--name', 'sleepy', '-p', '443:8080', '--scale-to-zero', 'on', '--scale-to-zero-cooldown', '500ms', '--start', 'ukc/hello'],
      {as: 'alice'},
    )
    await until('sleepy on standby', stateIs('sleepy', 'standby'))
    const woken = await viaGateway(fqdnOf(sleepy), gatewayPort(), ca)
    assert.deepEqual(woken, {status: 200, body: 'Hello from sleepy\n'})

    await until('sleepy on standby again', stateIs('sleepy', 'standby'))
    const internal = await viaPrivate(String(sleepy.private_ip), 8080, '127.0.0.1')
    assert.equal(internal.body, 'Hello from sleepy\n')
  })

  it('keeps users apart: bob can neither see nor reach alice’s instances', async () => {
    const [secret] = await cli.json<Instance[]>(['instance', 'create', '--name', 'secret', '--start', '--wait', 'ukc/hello'], {as: 'alice'})
    const ip = String(secret.private_ip)
    assert.match(ip, /^127\.16\./)

    assert.ok(!(await list('bob')).some((i) => i.uuid === secret.uuid || i.name === 'secret'))
    const getAsBob = await cli.run(['instance', 'get', 'secret'], {as: 'bob'})
    assert.equal(getAsBob.code, 4, getAsBob.stderr)
    const removeAsBob = await cli.run(['instance', 'remove', secret.uuid], {as: 'bob'})
    assert.equal(removeAsBob.code, 4, removeAsBob.stderr)
    assert.equal((await get('secret')).uuid, secret.uuid)

    // From alice's own network the endpoint answers; from bob's network (127.17/16) it refuses.
    assert.equal((await viaPrivate(ip, 8080, '127.16.0.250')).body, 'Hello from secret\n')
    await assert.rejects(viaPrivate(ip, 8080, '127.17.0.250'))

    // The same name is free in bob's scope.
    const [bobs] = await cli.json<Instance[]>(['instance', 'create', '--name', 'secret', 'ukc/hello'], {as: 'bob'})
    assert.notEqual(bobs.uuid, secret.uuid)
    assert.match(String(bobs.private_ip), /^127\.17\./)
  })

  it('answers bad requests with the real API’s errors', async () => {
    const memory = await cli.run(['instance', 'create', '--memory', '100000', 'ukc/hello'], {as: 'alice'})
    assert.equal(memory.code, 2)
    assert.match(memory.stderr, /Value of 'memory_mb' must be in the range 16 to 4096/)
    const name = await cli.run(['instance', 'create', '--name', 'bad--name', 'ukc/hello'], {as: 'alice'})
    assert.equal(name.code, 2)
    assert.match(name.stderr, /Invalid name/)
    const image = await cli.run(['instance', 'create', 'no-such-image:1'], {as: 'alice'})
    assert.notEqual(image.code, 0)
    assert.match(image.stderr, /no image with name: no-such-image:1/)
    const clash = await cli.run(['instance', 'create', '--name', 'secret', 'ukc/hello'], {as: 'alice'})
    assert.equal(clash.code, 5)
    assert.match(clash.stderr, /already exists/)

    const unauthorized = await new Promise<{status: number; body: string}>((resolve, reject) => {
      https
        .get(`${platform.url}/instances`, {ca}, (res) => {
          let body = ''
          res.on('data', (c: Buffer) => (body += c.toString()))
          res.on('end', () => resolve({status: res.statusCode ?? 0, body}))
        })
        .on('error', reject)
    })
    assert.equal(unauthorized.status, 401)
    assert.equal((JSON.parse(unauthorized.body) as {status: string}).status, 'error')
  })

  it('runs postgres and redis instances that answer on their private endpoints', async (t) => {
    const images = await cli.json<Image[]>(['image', 'list', '--all'], {as: 'alice'})
    const available = (name: string) => images.some((i) => i.tags?.some((tag) => tag.startsWith(`${name}:`)) && i.labels?.['ukc.available'] === 'true')
    if (!available('postgres') || !available('redis')) {
      t.skip('postgres or redis-server is not installed on this host')
      return
    }
    const [db] = await cli.json<Instance[]>(
      ['instance', 'create', '--name', 'db', '-e', 'POSTGRES_PASSWORD=secret', '-e', 'POSTGRES_DB=shop', '--start', '--wait', '--wait-timeout', '90s', 'postgres:15'],
      {as: 'alice', timeoutMs: 150_000},
    )
    assert.equal(db.state, 'running')
    const {default: pg} = await import('pg')
    const client = new pg.Client({host: String(db.private_ip), port: 5432, user: 'postgres', password: 'secret', database: 'shop'})
    await client.connect()
    try {
      const result = await client.query<{answer: number}>('SELECT 40 + 2 AS answer')
      assert.equal(result.rows[0].answer, 42)
    } finally {
      await client.end()
    }

    const [cache] = await cli.json<Instance[]>(['instance', 'create', '--name', 'cache', '--start', '--wait', 'redis:7'], {as: 'alice'})
    const {Redis} = await import('ioredis')
    const redis = new Redis({host: String(cache.private_ip), port: 6379, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null})
    try {
      await redis.connect()
      assert.equal(await redis.ping(), 'PONG')
    } finally {
      redis.disconnect()
    }
  })

  it('survives kill -9 of the daemon: state intact, running instances back', async () => {
    const before = await list()
    const wasRunning = before.filter((i) => i.state === 'running' || i.state === 'standby').map((i) => i.name)
    assert.ok(wasRunning.includes('trio'))
    process.kill(platform.pid, 'SIGKILL')
    await until('the daemon to die', () => {
      try {
        process.kill(platform.pid, 0)
        return undefined
      } catch {
        return true
      }
    })

    platform = await cli.start()
    assert.equal(platform.started, true)
    const afterRestart = await list()
    assert.deepEqual(afterRestart.map((i) => i.uuid).sort(), before.map((i) => i.uuid).sort())
    for (const name of wasRunning) {
      await until(`${name} back`, async () => (['running', 'standby'].includes(String((await get(name)).state)) ? true : undefined), 90_000)
    }
    const trio = before.find((i) => i.name === 'trio') as Instance
    const reply = await viaGateway(fqdnOf(trio), gatewayPort(), ca)
    assert.equal(reply.status, 200)
    assert.match(reply.body, /^Hello from trio/)
  })

  it('loses no acknowledged create when the daemon is killed mid-stream', async () => {
    const bob = platform.users.find((u) => u.name === 'bob')?.token ?? ''
    const client = new UkcClient({baseUrl: platform.url, token: bob, ca, attempts: 1, timeoutMs: 5000})
    const acknowledged: string[] = []
    const pid = platform.pid
    const stream = (async () => {
      for (let i = 0; i < 40; i++) {
        try {
          acknowledged.push(firstOrThrow(await createInstance(client, {image: 'ukc/echo', name: `burst-${i}`})).uuid)
        } catch {
          return // the daemon is gone
        }
        if (acknowledged.length === 5) process.kill(pid, 'SIGKILL')
      }
    })()
    await stream
    assert.ok(acknowledged.length >= 5)
    await until('the daemon to die', () => {
      try {
        process.kill(pid, 0)
        return undefined
      } catch {
        return true
      }
    })
    platform = await cli.start()
    const known = new Set((await list('bob')).map((i) => i.uuid))
    for (const uuid of acknowledged) assert.ok(known.has(uuid), `acknowledged instance ${uuid} survived`)
  })

  it('stops keeping all state, shows its log, and resets to nothing', async () => {
    const stopped = await cli.json<{stopped: boolean; pid: number}>(['local', 'stop'])
    assert.deepEqual(stopped.stopped, true)
    const status = await cli.json<{running: boolean; instances: {total: number}; services: number}>(['local', 'status'])
    assert.equal(status.running, false)
    assert.ok(status.instances.total > 0)
    assert.ok(status.services > 0)
    const logs = await cli.run(['local', 'logs', '--tail', '3'])
    assert.match(logs.stdout, /platform stopped/)
    const refused = await cli.run(['local', 'reset'])
    assert.equal(refused.code, 2)
    const reset = await cli.json<{wiped: boolean}>(['local', 'reset', '--yes'])
    assert.equal(reset.wiped, true)
    const after = await cli.json<{instances: {total: number}}>(['local', 'status'])
    assert.equal(after.instances.total, 0)
  })
})
