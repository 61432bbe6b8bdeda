// The relay as the platform runs it (a child process): authentication before the upgrade, failed
// handshakes limited per source, timeouts, the stream cap under a flood of OPENs, heartbeat-driven
// exit, and the client's recovery when the relay dies.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import {after, afterEach, describe, it} from 'node:test'

import WebSocket from 'ws'

import {ResetCode, SUBPROTOCOL} from '../../src/tunnel/index.js'
import {Fixtures, collect, connect, countPongs, upgradeStatus as upgrade, waitFor, within} from './harness.js'
import {RawSession} from './raw-session.js'

const fx = new Fixtures()
afterEach(() => fx.closeAll())
after(() => fx.closeAll())

/** The status of an upgrade to the relay on `port` with the given Authorization header. */
function upgradeStatus(port: number, authorization?: string, options: {from?: string; headers?: Record<string, string>} = {}): Promise<number> {
  return upgrade({url: `ws://127.0.0.1:${port}/`, authorization, ...options})
}

describe('tunnel relay (child process)', () => {
  it('answers 401 to a missing or wrong token and forwards nothing; a right token upgrades', async () => {
    const target = await fx.server((s) => s.end('secret'))
    const relay = await fx.relayProcess([`127.0.0.1:${target.port}`])
    assert.equal(await upgradeStatus(relay.port), 401)
    assert.equal(await upgradeStatus(relay.port, 'Bearer wrong-token'), 401)
    assert.equal(await upgradeStatus(relay.port, `Bearer ${relay.token}x`), 401)
    assert.equal(await upgradeStatus(relay.port, `Bearer ${relay.token}`), 101)
    assert.equal(target.sockets.size, 0)
    assert.ok(!relay.output().includes(relay.token), 'the relay must never log the token')
  })

  it('limits failed handshakes per source: ten bad tokens from one source get it 429, not the client', async () => {
    const relay = await fx.relayProcess(['127.0.0.1:9'])
    for (let i = 0; i < 10; i++) assert.equal(await upgradeStatus(relay.port, 'Bearer guess', {from: '127.0.0.2'}), 401)
    assert.equal(await upgradeStatus(relay.port, 'Bearer guess', {from: '127.0.0.2'}), 429)
    // Another source still has its whole budget, and the client's right token upgrades.
    assert.equal(await upgradeStatus(relay.port, 'Bearer guess', {from: '127.0.0.1'}), 401)
    assert.equal(await upgradeStatus(relay.port, `Bearer ${relay.token}`, {from: '127.0.0.1'}), 101)
    // Even from the blocked address: the token is what counts, not who shares the address.
    assert.equal(await upgradeStatus(relay.port, `Bearer ${relay.token}`, {from: '127.0.0.2'}), 101)
    // One line per failure until the source is blocked, then nothing more for it.
    assert.equal(relay.output().split('\n').filter((l) => l.includes('refused tunnel handshake from 127.0.0.2')).length, 10)
    assert.ok(!relay.output().includes(relay.token))
  })

  it('behind a trusted proxy (loopback) the source is the address the proxy appended to X-Forwarded-For', async () => {
    const relay = await fx.relayProcess(['127.0.0.1:9'])
    const via = (client: string): {headers: Record<string, string>} => ({headers: {'X-Forwarded-For': `6.6.6.6, ${client}`}})
    for (let i = 0; i < 10; i++) assert.equal(await upgradeStatus(relay.port, 'Bearer guess', via('203.0.113.5')), 401)
    assert.equal(await upgradeStatus(relay.port, 'Bearer guess', via('203.0.113.5')), 429)
    assert.equal(await upgradeStatus(relay.port, 'Bearer guess', via('198.51.100.7')), 401, 'a different client behind the same proxy')
    assert.match(relay.output(), /refused tunnel handshake from 203\.0\.113\.5/)
  })

  it('a trickle of bad tokens from the client\'s own address neither keeps it out nor makes the relay exit', async () => {
    const echo = await fx.echo()
    const relay = await fx.relayProcess([`127.0.0.1:${echo.port}`], {heartbeatTimeoutMs: 3_000})
    const {client, ports, logs} = await fx.client(relay, [{target: `127.0.0.1:${echo.port}`}], {heartbeatMs: 150, maxBackoffMs: 200})
    let trickling = true
    const trickle = (async () => {
      while (trickling) await upgradeStatus(relay.port, 'Bearer guess').catch(() => 0)
    })()
    try {
      await waitFor(() => /gets 429/.test(relay.output()), 30_000, () => `the trickle's source to be blocked:\n${relay.output()}`)
      // The client's WebSocket drops (a flaky network): it must get back in from the blocked address.
      client.relay.session?.ws.terminate()
      await waitFor(() => logs.includes('tunnel connection restored'), 30_000, () => logs.join('\n'))
      // ...and the relay keeps answering past its 3 s heartbeat timeout: 30 pongs, at least 150 ms apart.
      const pongs = await countPongs(client)
      await waitFor(() => pongs() >= 30, 60_000, () => `30 pongs (got ${pongs()}); relay said:\n${relay.output()}`)
      assert.equal(relay.child.exitCode, null)
      const socket = await connect(ports[0] as number)
      const got = collect(socket)
      socket.end('still here')
      assert.equal((await got).data.toString(), 'still here')
    } finally {
      trickling = false
      await trickle
    }
  })

  it('refuses OPENs past the stream cap with RST 8 and one log line, and its memory stays bounded (3,000 OPENs)', async () => {
    const target = await fx.server(() => undefined)
    const relay = await fx.relayProcess([`127.0.0.1:${target.port}`], {extraArgs: ['--max-streams=64']})
    const session = await RawSession.open(relay.port, relay.token)
    fx.add(() => session.close())
    const rssBefore = residentBytes(relay.child.pid as number)
    for (let id = 1; id <= 3000; id++) session.openStream(id, 65_536, `127.0.0.1:${target.port}`)
    await waitFor(() => session.resets.size === 3000 - 64, 60_000, () => `${3000 - 64} refusals (got ${session.resets.size})`)
    await waitFor(() => target.sockets.size === 64, 30_000, () => `64 target connections (got ${target.sockets.size})`)
    assert.deepEqual(new Set([...session.resets.values()].map((r) => r.code)), new Set([ResetCode.LimitReached]))
    assert.match(session.resets.get(65)?.message ?? '', /64 connections are open on this tunnel/)
    assert.ok([...session.resets.keys()].every((id) => id > 64), 'the first 64 were admitted')
    assert.equal(relay.output().split('\n').filter((l) => l.includes('connections are open on this tunnel')).length, 1)
    // Unbounded, every OPEN held a socket: 3,000 of them grew the relay by ~34 MB.
    const growth = residentBytes(relay.child.pid as number) - rssBefore
    assert.ok(growth < 16 * 1024 * 1024, `the relay grew by ${(growth / 1048576).toFixed(1)} MiB`)
    // A closed stream makes room again.
    session.reset(1)
    await waitFor(() => target.sockets.size === 63, 30_000, () => 'the reset stream to close its target connection')
    session.openStream(3001, 65_536, `127.0.0.1:${target.port}`)
    await waitFor(() => target.sockets.size === 64, 30_000, () => 'the new stream to be admitted')
    assert.equal(session.resets.has(3001), false)
  })

  it('drops a connection that never completes its handshake', async () => {
    const relay = await fx.relayProcess(['127.0.0.1:9'])
    const socket = await connect(relay.port)
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n') // never finishes the headers
    socket.resume()
    // The relay's 5 s headers timeout ends it; the deadline only keeps a broken relay from hanging the test.
    await within(new Promise((resolve) => socket.once('end', resolve).once('close', resolve)), 60_000, 'the relay to drop the half-sent handshake')
    socket.destroy()
  })

  it('closes a session that sends an oversized frame with 1009', async () => {
    const relay = await fx.relayProcess(['127.0.0.1:9'])
    const ws = new WebSocket(`ws://127.0.0.1:${relay.port}/`, SUBPROTOCOL, {headers: {Authorization: `Bearer ${relay.token}`}})
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)))
    ws.send(Buffer.alloc(300 * 1024))
    assert.equal(await closed, 1009)
  })

  it('serves plain HTTP with a hint instead of hanging', async () => {
    const relay = await fx.relayProcess(['127.0.0.1:9'])
    const status = await new Promise<number>((resolve, reject) => {
      http.get(`http://127.0.0.1:${relay.port}/`, (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      }).on('error', reject)
    })
    assert.equal(status, 426)
  })

  it('exits 0 when the client heartbeat is missing (so delete-on-stop removes it)', async () => {
    const echo = await fx.echo()
    const relay = await fx.relayProcess([`127.0.0.1:${echo.port}`], {heartbeatTimeoutMs: 3_000})
    const {client} = await fx.client(relay, [{target: `127.0.0.1:${echo.port}`}], {heartbeatMs: 150})
    // While the client pings, the relay stays up well past its timeout: it answers 30 pings in a row,
    // which the client sends at least 150 ms apart (over 4 s).
    const pongs = await countPongs(client)
    await waitFor(() => pongs() >= 30, 60_000, () => `30 pongs (got ${pongs()}); relay said:\n${relay.output()}`)
    assert.equal(relay.child.exitCode, null)
    client.relay.close() // the client goes away (as if killed): no more heartbeats
    assert.equal(await within(relay.exited, 60_000, 'the relay to exit'), 0)
    assert.match(relay.output(), /no client heartbeat/)
  })

  it('relay killed mid-transfer: affected connections reset, the listener refuses clearly, then recovers', async () => {
    const echo = await fx.echo()
    const first = await fx.relayProcess([`127.0.0.1:${echo.port}`])
    const {ports, logs, client} = await fx.client(first, [{target: `127.0.0.1:${echo.port}`}], {heartbeatMs: 200, maxBackoffMs: 200})
    const inFlight = await connect(ports[0] as number)
    const inFlightResult = collect(inFlight)
    inFlight.write('x'.repeat(10_000))
    await waitFor(() => echo.sockets.size === 1)
    first.child.kill('SIGKILL')
    const {error} = await inFlightResult
    assert.equal(error?.code, 'ECONNRESET')
    await waitFor(() => client.relay.session === undefined)
    // While the relay is down, new connections are refused at once with a message saying why.
    const refusal = await connect(ports[0] as number).then(
      async (socket) => (await collect(socket)).error?.code,
      (error: NodeJS.ErrnoException) => error.code,
    )
    assert.equal(refusal, 'ECONNRESET')
    await waitFor(() => logs.some((l) => l.includes('refused connection') && l.includes('relay unreachable')), 5_000, () => logs.join('\n'))
    // The relay comes back on the same port and token: the CLI reconnects by itself.
    await fx.relayProcess([`127.0.0.1:${echo.port}`], {port: first.port, token: first.token})
    await waitFor(() => client.relay.session, 10_000, () => logs.join('\n'))
    const after = await connect(ports[0] as number)
    const got = collect(after)
    after.end('works again')
    const result = await got
    assert.equal(result.data.toString(), 'works again', `${result.error?.message}\n${logs.join('\n')}`)
    assert.ok(logs.some((l) => l.includes('tunnel connection restored')))
  })

  it('client notices a black-holed relay (SIGSTOP) through missing pongs and resets its streams', async () => {
    const echo = await fx.echo()
    const relay = await fx.relayProcess([`127.0.0.1:${echo.port}`])
    const {ports, client} = await fx.client(relay, [{target: `127.0.0.1:${echo.port}`}], {heartbeatMs: 200})
    const socket = await connect(ports[0] as number)
    const result = collect(socket)
    socket.write('hello')
    await waitFor(() => echo.sockets.size === 1, 10_000, () => `the echo connection; relay said:\n${relay.output()}`)
    relay.child.kill('SIGSTOP')
    try {
      const {error} = await result
      assert.equal(error?.code, 'ECONNRESET')
      assert.equal(client.relay.session, undefined)
    } finally {
      relay.child.kill('SIGCONT')
    }
  })
})

/** A process's resident set (VmRSS) in bytes. */
function residentBytes(pid: number): number {
  const kib = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
  return Number(kib) * 1024
}

export type {net}
