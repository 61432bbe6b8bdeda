// Volumes end to end: the real `ukc` binary against the embedded platform. A Postgres database and
// a Redis key outlive the instances that wrote them; a read-only mount refuses writes; a write past
// a volume's size fails inside the instance; kill -9 of the daemon loses no acknowledged volume
// operation; `ukc local reset` unmounts before it wipes.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, it} from 'node:test'

import {UkcClient, createVolume, firstOrThrow} from '../../src/api/index.js'
import type {Image, Instance, Quotas, Volume} from '../../src/api/types.js'
import {mountsUnder} from '../../src/platform/volumes/index.js'
import {TunnelProcesses} from '../tunnel/tunnel-process.js'
import {Cli, type Started, buildIfStale, until, viaPrivate} from './platform-harness.js'

const root = process.getuid?.() === 0

/**
 * A user image that writes CONTENT to `${VOLUME:/data}/probe` (and FILL_MB MiB to `fill` when
 * asked) at boot and then serves, as JSON, what that did and what `probe` holds.
 */
const WRITER = `
const fs = require('node:fs'), http = require('node:http'), path = require('node:path')
const dir = process.argv[1]
const result = {dir, sameAsEnv: process.env.UKC_VOLUME_DATA === dir}
const attempt = (name, write) => { try { write(); result[name] = 'ok' } catch (error) { result[name] = error.code } }
attempt('write', () => fs.writeFileSync(path.join(dir, 'probe'), process.env.CONTENT || 'written'))
if (process.env.FILL_MB) attempt('fill', () => fs.writeFileSync(path.join(dir, 'fill'), Buffer.alloc(Number(process.env.FILL_MB) * 1048576, 1)))
http.createServer((req, res) => {
  let probe = null
  try { probe = fs.readFileSync(path.join(dir, 'probe'), 'utf8') } catch {}
  res.end(JSON.stringify(Object.assign({probe}, result)))
}).listen(Number(process.env.PORT), process.env.UKC_LISTEN_HOST)
`

interface WriterReport {
  dir: string
  sameAsEnv: boolean
  write: string
  fill?: string
  probe: string | null
}

describe('volumes on the embedded platform, end to end', {timeout: 600_000}, () => {
  const cli = new Cli()
  const tunnels = new TunnelProcesses(cli)
  let platform: Started
  let hostServers = {postgres: false, redis: false}

  const volume = async (name: string): Promise<Volume> => (await cli.json<Volume[]>(['volume', 'get', name], {as: 'alice'}))[0]
  const instance = async (args: string[]): Promise<Instance> => (await cli.json<Instance[]>(['instance', 'create', ...args], {as: 'alice', timeoutMs: 150_000}))[0]
  const remove = async (name: string) => cli.json(['instance', 'remove', name], {as: 'alice'})
  const report = async (created: Instance): Promise<WriterReport> => JSON.parse((await viaPrivate(String(created.private_ip), 8000, '127.16.0.250')).body) as WriterReport
  const killDaemon = async () => {
    const pid = platform.pid
    process.kill(pid, 'SIGKILL')
    await until('the daemon to die', () => {
      try {
        process.kill(pid, 0)
        return undefined
      } catch {
        return true
      }
    })
  }

  before(async () => {
    await buildIfStale()
    platform = await cli.start()
    fs.writeFileSync(path.join(cli.dataDir, 'images.json'), JSON.stringify({'writer:latest': {command: [process.execPath, '-e', WRITER, '${VOLUME:/data}'], port: 8000}}))
    const images = await cli.json<Image[]>(['image', 'list', '--all'], {as: 'alice'})
    const available = (name: string) => images.some((i) => i.tags?.some((tag) => tag.startsWith(`${name}:`)) && i.labels?.['ukc.available'] === 'true')
    hostServers = {postgres: available('postgres'), redis: available('redis')}
  })
  after(async () => {
    tunnels.killAll()
    await cli.cleanup()
  })

  it('keeps a Postgres database on a volume when the instance is replaced (through ukc tunnel)', async (t) => {
    if (!hostServers.postgres) return t.skip('postgres is not installed on this host')
    const created = await cli.run(['volume', 'create', '--size', '512Mi', '--name', 'pgdata'], {as: 'alice'})
    assert.equal(created.code, 0, created.stderr)
    const pgArgs = (name: string) => ['--name', name, '-e', 'POSTGRES_PASSWORD=secret', '-v', 'pgdata:/var/lib/postgresql/data', '--start', '--wait', '--wait-timeout', '90s', 'postgres:16']
    const first = await instance(pgArgs('db'))
    assert.equal(first.state, 'running')
    assert.deepEqual(first.volumes?.map((v) => [v.name, v.at, v.readonly]), [['pgdata', '/var/lib/postgresql/data', false]])
    const mounted = await volume('pgdata')
    assert.equal(mounted.state, 'mounted')
    assert.deepEqual(mounted.mounted_by, [{uuid: first.uuid, name: 'db', readonly: false}])

    const {default: pg} = await import('pg')
    const query = async (sql: string) => {
      const tunnel = await tunnels.open(['0:db:5432'])
      const port = Number(tunnel.ready.mappings[0].local.split(':').pop())
      const client = new pg.Client({host: '127.0.0.1', port, user: 'postgres', password: 'secret', database: 'postgres'})
      await client.connect()
      try {
        return (await client.query<{note: string}>(sql)).rows
      } finally {
        await client.end()
        tunnel.child.kill('SIGINT')
        assert.equal(await tunnel.exited, 0, tunnel.stderr())
      }
    }
    await query(`CREATE TABLE notes (note text); INSERT INTO notes VALUES ('kept on a volume')`)

    await remove('db')
    assert.equal((await volume('pgdata')).state, 'available')
    const second = await instance(pgArgs('db'))
    assert.notEqual(second.uuid, first.uuid)
    assert.deepEqual(await query('SELECT note FROM notes'), [{note: 'kept on a volume'}])
  })

  it('keeps a Redis key on a volume at /data when the instance is replaced', async (t) => {
    if (!hostServers.redis) return t.skip('redis-server is not installed on this host')
    assert.equal((await cli.run(['volume', 'create', '--size', '64Mi', '--name', 'cache'], {as: 'alice'})).code, 0)
    const {Redis} = await import('ioredis')
    const withRedis = async <T>(created: Instance, use: (redis: InstanceType<typeof Redis>) => Promise<T>): Promise<T> => {
      const redis = new Redis({host: String(created.private_ip), port: 6379, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null})
      try {
        await redis.connect()
        return await use(redis)
      } finally {
        redis.disconnect()
      }
    }
    const first = await instance(['--name', 'kv', '-v', 'cache:/data', '--start', '--wait', 'redis:7'])
    assert.equal(await withRedis(first, (redis) => redis.set('greeting', 'survives')), 'OK')
    await remove('kv')
    const second = await instance(['--name', 'kv', '-v', 'cache:/data', '--start', '--wait', 'redis:7'])
    assert.equal(await withRedis(second, (redis) => redis.get('greeting')), 'survives')
  })

  it('maps ${VOLUME:/data} and UKC_VOLUME_DATA to the volume; a write past its size fails inside the instance', async () => {
    assert.equal((await cli.run(['volume', 'create', '--size', '4Mi', '--name', 'files'], {as: 'alice'})).code, 0)
    const writer = await instance(['--name', 'w1', '-v', 'files:/data', '-e', 'CONTENT=first', '-e', 'FILL_MB=8', '--start', '--wait', 'writer'])
    const seen = await report(writer)
    assert.equal(seen.sameAsEnv, true)
    assert.equal(seen.write, 'ok')
    assert.equal(seen.probe, 'first')
    // As root a volume is a filesystem of its size (ENOSPC); otherwise the platform stops the instance.
    if (root) assert.equal(seen.fill, 'ENOSPC')
    await remove('w1')
  })

  it('refuses writes through a read-only mount, and keeps what was there', async () => {
    const reader = await instance(['--name', 'w2', '-v', 'files:/data:ro', '-e', 'CONTENT=second', '--start', '--wait', 'writer'])
    const seen = await report(reader)
    assert.equal(seen.write, root ? 'EROFS' : 'EACCES')
    assert.equal(seen.probe, 'first')
    assert.deepEqual((await volume('files')).mounted_by, [{uuid: reader.uuid, name: 'w2', readonly: true}])
  })

  it('refuses to remove an attached volume (exit 5) and shows volumes in the quotas', async () => {
    const refused = await cli.run(['volume', 'remove', 'files'], {as: 'alice'})
    assert.equal(refused.code, 5, refused.stderr)
    assert.match(refused.stderr, /attached to instance 'w2'/)
    const [quota] = await cli.json<Quotas[]>(['quotas'], {as: 'alice'})
    const volumes = await cli.json<Volume[]>(['volume', 'list'], {as: 'alice'})
    assert.equal(quota.used?.volumes, volumes.length)
    assert.equal(quota.used?.total_volume_mb, volumes.reduce((sum, v) => sum + (v.size_mb ?? 0), 0))
    const table = await cli.run(['quotas', '--output', 'list'], {as: 'alice'})
    assert.match(table.stdout, /volumes: +enabled/i)
  })

  it('loses no acknowledged volume operation when the daemon is killed with -9, and unmounts what it left', async () => {
    // Acknowledged: a stopped instance with a volume attached through the API, and a stream of creates.
    assert.equal((await cli.run(['instance', 'create', '--name', 'idle', 'ukc/hello'], {as: 'alice'})).code, 0)
    assert.equal((await cli.run(['volume', 'create', '--size', '8Mi', '--name', 'durable'], {as: 'alice'})).code, 0)
    const attached = await cli.run(['volume', 'attach', 'durable', '--to', 'idle', '--at', '/srv'], {as: 'alice'})
    assert.equal(attached.code, 0, attached.stderr)
    const bob = platform.users.find((u) => u.name === 'bob')?.token ?? ''
    const client = new UkcClient({baseUrl: platform.url, token: bob, ca: cli.ca(), attempts: 1, timeoutMs: 5000})
    const acknowledged: string[] = []
    for (let i = 0; i < 30; i++) {
      try {
        acknowledged.push(firstOrThrow(await createVolume(client, {name: `burst-${i}`, size_mb: 1})).uuid)
      } catch {
        break // the daemon is gone
      }
      if (acknowledged.length === 4) process.kill(platform.pid, 'SIGKILL')
    }
    await killDaemon()
    if (root) assert.ok(mountsUnder(cli.dataDir).length > 0, 'the killed daemon left its volumes mounted')

    platform = await cli.start()
    const known = new Set((await cli.json<Volume[]>(['volume', 'list'], {as: 'bob'})).map((v) => v.uuid))
    for (const uuid of acknowledged) assert.ok(known.has(uuid), `acknowledged volume ${uuid} survived`)
    const durable = await volume('durable')
    assert.deepEqual([durable.state, durable.attached_to?.map((i) => i.name)], ['idle', ['idle']])
    // What ran on volumes comes back on them.
    await until('w2 back', async () => ((await cli.json<Instance[]>(['instance', 'get', 'w2'], {as: 'alice'}))[0].state === 'running' ? true : undefined), 90_000)
    const reader = (await cli.json<Instance[]>(['instance', 'get', 'w2'], {as: 'alice'}))[0]
    assert.equal((await report(reader)).probe, 'first')
  })

  it('unmounts at stop, and `local reset` after a kill -9 unmounts before it wipes', async () => {
    await cli.json(['local', 'stop'])
    assert.deepEqual(mountsUnder(cli.dataDir), [])
    platform = await cli.start()
    await until('w2 running', async () => ((await cli.json<Instance[]>(['instance', 'get', 'w2'], {as: 'alice'}))[0].state === 'running' ? true : undefined), 90_000)
    // Stopped instances keep their volumes mounted until detached; no instance process outlives the daemon.
    await cli.json(['instance', 'stop', '--all'], {as: 'alice'})
    if (root) assert.ok(mountsUnder(cli.dataDir).length > 0)
    await killDaemon()
    const reset = await cli.json<{wiped: boolean}>(['local', 'reset', '--yes'])
    assert.equal(reset.wiped, true)
    assert.deepEqual(mountsUnder(cli.dataDir), [])
    assert.deepEqual(fs.readdirSync(cli.dataDir), [])
  })
})
