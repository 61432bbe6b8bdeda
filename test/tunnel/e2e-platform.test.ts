// `ukc tunnel` end to end: the real binary against the embedded platform (gateway on 443 http+tls,
// the relay as an instance, private targets), with real clients (pg, ioredis, raw TCP).
import {execFileSync} from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import type net from 'node:net'
import path from 'node:path'
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import {Redis} from 'ioredis'
import pg from 'pg'

import {clientFor, resolveTarget} from '../../src/cli/target.js'
import {createRelay, deleteRelay, newRelayCredentials, relayEndpoint} from '../../src/tunnel/index.js'
import {Cli, until} from '../e2e/platform-harness.js'
import {TunnelClient, collect, connect, hashIncoming, sendRandom, sha256, upgradeStatus, waitFor, within} from './harness.js'
import {type Ready, type TunnelProcess, TunnelProcesses} from './tunnel-process.js'

interface Instance {
  uuid: string
  name: string
  state?: string
  args?: string[]
  private_ip?: string
}

const cli = new Cli()
const tunnels = new TunnelProcesses(cli)

/** Starts `ukc tunnel ... --json` and resolves with its ready line. */
function openTunnel(args: string[], stdin: 'ignore' | 'pipe' = 'ignore'): Promise<TunnelProcess> {
  return tunnels.open(args, {stdin})
}

function portOf(ready: Ready, i = 0): number {
  return Number(ready.mappings[i]?.local.split(':').pop())
}

async function instances(): Promise<Instance[]> {
  return cli.json<Instance[]>(['instance', 'list'])
}

/**
 * `ukc tunnel`'s client half as a library, to a relay instance on the platform (through its gateway),
 * so that the test can reach the WebSocket's TCP socket and cut it.
 */
async function libraryTunnel(target: string): Promise<{client: TunnelClient; port: number; logs: string[]; close: () => Promise<void>}> {
  const platform = await resolveTarget({configDir: path.join(cli.dir, 'config'), localDir: cli.dataDir, autoStart: false, notice: () => undefined, env: {}})
  const api = clientFor(platform)
  const credentials = newRelayCredentials()
  const relay = await createRelay(api, {image: 'ukc/tunnel-relay', tokenHash: credentials.tokenHash, targets: [target], heartbeatTimeoutMs: 30_000})
  const logs: string[] = []
  const client = new TunnelClient({forwards: [{bind: '127.0.0.1', localPort: 0, target, label: target}], heartbeatMs: 10_000, maxBackoffMs: 500, log: (line) => logs.push(line)})
  const [forward] = await client.listen()
  await client.connect(60_000, relayEndpoint(relay, credentials.token, {local: platform.local, ca: platform.ca}))
  return {
    client,
    port: forward?.port as number,
    logs,
    close: async () => {
      await client.close(0)
      await deleteRelay(api, relay.uuid)
    },
  }
}

/** Destroys the TCP (TLS) socket under the client's WebSocket, as a network change or a proxy's cut does; resolves once resumed. */
async function cutWebSocket(tunnel: {client: TunnelClient; logs: string[]}): Promise<void> {
  const ws = tunnel.client.relay.session?.ws
  assert.ok(ws, 'a WebSocket to cut')
  ;(ws as unknown as {_socket: net.Socket})._socket.destroy()
  const resumed = tunnel.logs.filter((l) => l.startsWith('tunnel session resumed')).length
  await waitFor(() => tunnel.logs.filter((l) => l.startsWith('tunnel session resumed')).length > resumed, 60_000, () => `the session to resume:\n${tunnel.logs.join('\n')}`)
  assert.notEqual(tunnel.client.relay.session?.ws, ws)
}

describe('ukc tunnel against the embedded platform', {timeout: 600_000}, () => {
  before(() => cli.startWithEcho())

  after(async () => {
    tunnels.killAll()
    await cli.cleanup()
  })

  it('moves 256 MiB each way through the echo image with equal sha256', async () => {
    const {child, ready, exited} = await openTunnel(['0:echo:9000'])
    assert.equal(ready.mappings[0]?.target, 'echo:9000')
    const socket = await connect(portOf(ready))
    const received = hashIncoming(socket)
    const sent = await sendRandom(socket, 256 * 1024 * 1024)
    socket.end()
    const result = await received
    assert.equal(result.bytes, 256 * 1024 * 1024)
    assert.equal(result.hash, sent)
    child.kill('SIGINT')
    assert.equal(await exited, 0)
  })

  it('carries 500 concurrent connections, each verified, and a half-closed request gets its whole reply', async () => {
    const {child, ready, exited} = await openTunnel(['0:echo.internal:9000'])
    const port = portOf(ready)
    const ok = await Promise.all(
      Array.from({length: 500}, async () => {
        const socket = await connect(port)
        const payload = crypto.randomBytes(64 * 1024 + crypto.randomInt(192 * 1024))
        const got = collect(socket)
        socket.end(payload) // half-close: the echo keeps answering until everything came back
        const {data} = await got
        return sha256(data) === sha256(payload)
      }),
    )
    assert.equal(ok.filter(Boolean).length, 500)
    child.kill('SIGTERM')
    assert.equal(await exited, 0)
  })

  it('a refused target resets one connection while the others continue', async () => {
    const {child, ready, exited, stderr} = await openTunnel(['0:echo:9000', '0:echo:9001'])
    const good = await connect(portOf(ready, 0))
    const goodGot = collect(good)
    good.write('before ')
    const refusal = await connect(portOf(ready, 1)).then(
      async (s) => (await collect(s)).error?.code,
      (error: NodeJS.ErrnoException) => error.code,
    )
    assert.equal(refusal, 'ECONNRESET')
    good.end('after')
    assert.equal((await goodGot).data.toString(), 'before after')
    await until('a message about the refused connection', () => (/refused/.test(stderr()) ? true : undefined))
    child.kill('SIGINT')
    assert.equal(await exited, 0)
  })

  it('rejects a WebSocket upgrade without the token with 401 through the gateway', async () => {
    const {child, ready, exited} = await openTunnel(['0:echo:9000'])
    const info = JSON.parse(fs.readFileSync(path.join(cli.dataDir, 'platform.json'), 'utf8')) as {gateway: {ports: Record<string, number>}}
    const gatewayPort = info.gateway.ports['443'] as number
    const status = await upgradeStatus({url: `wss://127.0.0.1:${gatewayPort}/`, authorization: 'Bearer not-the-token', tls: {ca: cli.ca(), servername: ready.relay.fqdn}})
    assert.equal(status, 401)
    child.kill('SIGINT')
    assert.equal(await exited, 0)
  })

  it('Ctrl-C deletes the relay; kill -9 leaves it to stop itself once heartbeats are missing, and it is deleted', async () => {
    const first = await openTunnel(['0:echo:9000'])
    assert.ok((await instances()).some((i) => i.uuid === first.ready.relay.uuid))
    first.child.kill('SIGINT')
    assert.equal(await first.exited, 0)
    assert.ok(!(await instances()).some((i) => i.uuid === first.ready.relay.uuid), 'relay still listed after Ctrl-C')

    const second = await openTunnel(['--heartbeat', '1s', '0:echo:9000'])
    second.child.kill('SIGKILL')
    // With --heartbeat 1s the relay gives up after 3 s; the deadline only bounds a relay that never does.
    await until('the relay to disappear', async () => ((await instances()).some((i) => i.uuid === second.ready.relay.uuid) ? undefined : true), 60_000)
  })

  it('--watch-stdin: the tunnel stops and deletes its relay when its parent closes stdin', async () => {
    const {child, ready, exited, stderr} = await openTunnel(['--watch-stdin', '0:echo:9000'], 'pipe')
    assert.ok((await instances()).some((i) => i.uuid === ready.relay.uuid))
    child.stdin?.end() // what happens to the pipe when the parent dies
    assert.equal(await exited, 0)
    assert.match(stderr(), /standard input closed: stopping/)
    assert.ok(!(await instances()).some((i) => i.uuid === ready.relay.uuid), 'relay still listed after stdin closed')
  })

  it('a second Ctrl-C during the drain exits at once and still deletes the relay', async () => {
    const {child, ready, exited, stderr} = await openTunnel(['--drain-timeout', '60s', '0:echo:9000'])
    const held = await connect(portOf(ready)) // an open connection keeps the drain waiting
    held.on('error', () => undefined)
    child.kill('SIGINT')
    await until('the drain to start', () => (/stopping: waiting up to 60 s for 1 open connection/.test(stderr()) ? true : undefined))
    child.kill('SIGINT')
    // 130: the forced exit, not the 0 of a drain that ran its course (the deadline only bounds a hang).
    assert.equal(await within(exited, 30_000, 'ukc tunnel to exit on the second Ctrl-C'), 130)
    held.destroy()
    await until('the relay to be deleted', async () => ((await instances()).some((i) => i.uuid === ready.relay.uuid) ? undefined : true), 10_000)
  })

  it('relay killed mid-transfer: the transfer is reset, the CLI keeps listening and recovers', async () => {
    const {child, ready, exited, stderr} = await openTunnel(['--heartbeat', '1s', '0:echo:9000'])
    const port = portOf(ready)
    const socket = await connect(port)
    const result = hashIncoming(socket)
    const sending = sendRandom(socket, 512 * 1024 * 1024).catch(() => undefined)
    const relay = (await instances()).find((i) => i.uuid === ready.relay.uuid)
    const hash = relay?.args?.find((a) => a.startsWith('--token-sha256='))?.split('=')[1]
    assert.ok(hash)
    const pid = Number(execFileSync('pgrep', ['-f', '--', `token-sha256=${hash}`], {encoding: 'utf8'}).trim().split('\n')[0])
    process.kill(pid, 'SIGKILL')
    const {error, bytes} = await result
    await sending
    assert.ok(error, `the transfer should be reset, it ended cleanly after ${bytes} bytes`)
    await until('the tunnel to come back', async () => {
      const probe = await connect(port).catch(() => undefined)
      if (!probe) return undefined
      const got = collect(probe)
      probe.end('ping')
      return (await got).data.toString() === 'ping' ? true : undefined
    }, 60_000)
    assert.match(stderr(), /tunnel connection lost/)
    child.kill('SIGINT')
    assert.equal(await exited, 0)
  })

  it('a relay deleted behind its back is recreated and the same local port works again', async () => {
    const {child, ready, exited, stderr} = await openTunnel(['0:echo:9000'])
    const removed = await cli.run(['instance', 'remove', ready.relay.uuid])
    assert.equal(removed.code, 0, removed.stderr)
    await until('a new relay', () => (/is gone; creating a new one/.test(stderr()) ? true : undefined), 60_000)
    await until('the tunnel to work again', async () => {
      const probe = await connect(portOf(ready)).catch(() => undefined)
      if (!probe) return undefined
      const got = collect(probe)
      probe.end('again')
      return (await got).data.toString() === 'again' ? true : undefined
    }, 60_000)
    const relays = (await instances()).filter((i) => i.args?.some((a) => a.startsWith('--token-sha256=')))
    assert.equal(relays.length, 1)
    child.kill('SIGINT')
    assert.equal(await exited, 0)
    assert.equal((await instances()).filter((i) => i.args?.some((a) => a.startsWith('--token-sha256='))).length, 0, 'the new relay is deleted on Ctrl-C too')
  })

  it('the relay refuses a target outside its allow-list, even with the right token', async () => {
    // Play the CLI's part with the library, so this test knows the token: the relay may reach
    // echo:9000 only; a stream asking for the platform API's address (SSRF) must be refused.
    const target = await resolveTarget({configDir: path.join(cli.dir, 'config'), localDir: cli.dataDir, autoStart: false, notice: () => undefined, env: {}})
    const api = clientFor(target)
    const echoIp = (await instances()).find((i) => i.name === 'echo')?.private_ip
    assert.ok(echoIp)
    const credentials = newRelayCredentials()
    const relay = await createRelay(api, {image: 'ukc/tunnel-relay', tokenHash: credentials.tokenHash, targets: [`${echoIp}:9000`], heartbeatTimeoutMs: 30_000})
    const apiAddress = new URL(target.baseUrl).host
    const logs: string[] = []
    const client = new TunnelClient({
      forwards: [
        {bind: '127.0.0.1', localPort: 0, target: `${echoIp}:9000`, label: 'allowed'},
        {bind: '127.0.0.1', localPort: 0, target: apiAddress, label: 'forbidden'},
      ],
      heartbeatMs: 10_000,
      log: (line) => logs.push(line),
    })
    try {
      const [allowed, forbidden] = await client.listen()
      await client.connect(30_000, relayEndpoint(relay, credentials.token, {local: target.local, ca: target.ca}))
      const ok = await connect(allowed!.port)
      const echoed = collect(ok)
      ok.end('allowed')
      assert.equal((await echoed).data.toString(), 'allowed')
      const denied = await connect(forbidden!.port)
      const refused = collect(denied)
      denied.write('GET / HTTP/1.1\r\n\r\n')
      const result = await refused
      assert.equal(result.data.length, 0, 'nothing may come back from a target outside the allow-list')
      assert.equal(result.error?.code, 'ECONNRESET')
      await until('the refusal to be logged', () => (logs.some((l) => /allow-list|not allowed/i.test(l)) ? true : undefined), 10_000)
    } finally {
      await client.close(0)
      await deleteRelay(api, relay.uuid)
    }
  })

  it('a client suspended past its heartbeat (SIGSTOP, laptop lid) recovers on SIGCONT', async () => {
    const {child, ready, exited, stderr} = await openTunnel(['--heartbeat', '1s', '0:echo:9000'])
    child.kill('SIGSTOP')
    // Without pings the relay stops itself and the platform deletes it (delete-on-stop).
    await until('the suspended client\u2019s relay to go', async () => ((await instances()).some((i) => i.uuid === ready.relay.uuid) ? undefined : true), 30_000)
    child.kill('SIGCONT')
    await until('a new relay', () => (/is gone; creating a new one/.test(stderr()) ? true : undefined), 60_000)
    await until('the tunnel to work again on the same port', async () => {
      const probe = await connect(portOf(ready)).catch(() => undefined)
      if (!probe) return undefined
      const got = collect(probe)
      probe.end('resumed')
      return (await got).data.toString() === 'resumed' ? true : undefined
    }, 60_000)
    child.kill('SIGINT')
    assert.equal(await exited, 0)
    assert.equal((await instances()).filter((i) => i.args?.some((a) => a.startsWith('--token-sha256='))).length, 0, 'no relay left behind')
  })

  it('tunnelling to a scaled-to-zero instance wakes it', async () => {
    const created = await cli.run(['instance', 'create', '--name', 'sleepy', '--scale-to-zero', 'on', '--scale-to-zero-cooldown', '500ms', '--start', '--wait', 'ukc/echo'])
    assert.equal(created.code, 0, created.stderr)
    await until('sleepy to scale to zero', async () => ((await instances()).find((i) => i.name === 'sleepy')?.state === 'standby' ? true : undefined), 30_000)
    const {child, ready, exited} = await openTunnel(['0:sleepy:9000'])
    const socket = await connect(portOf(ready))
    const got = collect(socket)
    socket.end('wake up')
    assert.equal((await got).data.toString(), 'wake up')
    child.kill('SIGINT')
    assert.equal(await exited, 0)
  })

  it('Postgres: create, insert and select through `ukc tunnel 0:db:5432`', async (t) => {
    const created = await cli.run(['instance', 'create', '--name', 'db', '--env', 'POSTGRES_PASSWORD=secret', '--start', '--wait', 'postgres:15'])
    if (created.code !== 0 && /postgres|initdb/i.test(created.stderr) && /install/i.test(created.stderr)) return t.skip('postgres is not installed')
    assert.equal(created.code, 0, created.stderr)
    const {child, ready, exited} = await openTunnel(['0:db:5432'])
    const db = new pg.Client({host: '127.0.0.1', port: portOf(ready), user: 'postgres', password: 'secret', database: 'postgres'})
    await db.connect()
    try {
      await db.query('CREATE TABLE tunnel_check (id serial PRIMARY KEY, note text)')
      await db.query("INSERT INTO tunnel_check (note) VALUES ('one'), ('two'), ('three')")
      const {rows} = await db.query<{note: string}>('SELECT note FROM tunnel_check ORDER BY id')
      assert.deepEqual(rows.map((r) => r.note), ['one', 'two', 'three'])
    } finally {
      await db.end()
    }
    child.kill('SIGINT')
    assert.equal(await exited, 0)
  })

  it('the WebSocket cut mid-transfer of 256 MiB (the relay lives): the transfer continues, sha256 equal both ways', async () => {
    const tunnel = await libraryTunnel('echo.internal:9000')
    try {
      const socket = await connect(tunnel.port)
      const received = hashIncoming(socket)
      let got = 0
      socket.on('data', (chunk: Buffer) => (got += chunk.length))
      const sent = sendRandom(socket, 256 * 1024 * 1024).then((hash) => {
        socket.end()
        return hash
      })
      await waitFor(() => got > 96 * 1024 * 1024, 300_000, () => `96 MiB back (got ${got})`)
      await cutWebSocket(tunnel)
      const result = await received
      assert.equal(result.error, undefined, `the app saw ${result.error?.message}\n${tunnel.logs.join('\n')}`)
      assert.equal(result.bytes, 256 * 1024 * 1024)
      assert.equal(result.hash, await sent)
      assert.ok(tunnel.logs.some((l) => /tunnel session resumed: 1 open connection\(s\) carry on/.test(l)), tunnel.logs.join('\n'))
    } finally {
      await tunnel.close()
    }
  })

  it('a Postgres session survives a cut WebSocket: the same backend answers the next query', async (t) => {
    if (!(await instances()).some((i) => i.name === 'db')) {
      const created = await cli.run(['instance', 'create', '--name', 'db', '--env', 'POSTGRES_PASSWORD=secret', '--start', '--wait', 'postgres:15'])
      if (created.code !== 0 && /postgres|initdb/i.test(created.stderr) && /install/i.test(created.stderr)) return t.skip('postgres is not installed')
      assert.equal(created.code, 0, created.stderr)
    }
    const tunnel = await libraryTunnel('db.internal:5432')
    const db = new pg.Client({host: '127.0.0.1', port: tunnel.port, user: 'postgres', password: 'secret', database: 'postgres'})
    try {
      await db.connect()
      await db.query('BEGIN')
      await db.query('CREATE TABLE resume_check (note text)')
      await db.query("INSERT INTO resume_check VALUES ('before the cut')")
      const before = (await db.query<{pid: number}>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid
      await cutWebSocket(tunnel)
      // The same backend and the same open transaction: nothing was lost or repeated.
      const after = (await db.query<{pid: number}>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid
      assert.equal(after, before)
      await db.query("INSERT INTO resume_check VALUES ('after the cut')")
      await db.query('COMMIT')
      const {rows} = await db.query<{note: string}>('SELECT note FROM resume_check ORDER BY note DESC')
      assert.deepEqual(rows.map((r) => r.note), ['before the cut', 'after the cut'])
    } finally {
      await db.end().catch(() => undefined)
      await tunnel.close()
    }
  })

  it('Redis: SET and GET of 10,000 keys', async (t) => {
    const created = await cli.run(['instance', 'create', '--name', 'cache', '--start', '--wait', 'redis:7'])
    if (created.code !== 0 && /install/i.test(created.stderr)) return t.skip('redis-server is not installed')
    assert.equal(created.code, 0, created.stderr)
    const {child, ready, exited} = await openTunnel(['0:cache:6379'])
    const redis = new Redis({host: '127.0.0.1', port: portOf(ready), lazyConnect: true, maxRetriesPerRequest: 0})
    await redis.connect()
    try {
      const set = redis.pipeline()
      for (let i = 0; i < 10_000; i++) set.set(`key:${i}`, `value:${i}`)
      await set.exec()
      const get = redis.pipeline()
      for (let i = 0; i < 10_000; i++) get.get(`key:${i}`)
      const values = ((await get.exec()) ?? []).map(([, v]) => v)
      assert.equal(values.length, 10_000)
      assert.ok(values.every((v, i) => v === `value:${i}`))
    } finally {
      redis.disconnect()
    }
    child.kill('SIGINT')
    assert.equal(await exited, 0)
  })
})
