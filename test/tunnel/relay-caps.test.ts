// The relay's per-session and per-relay caps against clients that push them (an in-process relay):
// stream ids are never reused, 24 streams × 8 MiB toward a target that never reads stay within the
// buffer budget, and an old (v1) client's large windows are refused rather than overcommitted.
import assert from 'node:assert/strict'
import {after, afterEach, describe, it} from 'node:test'

import {CloseCode, MAX_STREAM_WINDOW, ResetCode, SUBPROTOCOL_V1} from '../../src/tunnel/index.js'
import {Fixtures, collect, connect, waitFor} from './harness.js'
import {RawSession} from './raw-session.js'

const fx = new Fixtures()
afterEach(() => fx.closeAll())
after(() => fx.closeAll())

const MiB = 1024 * 1024

/** A target that accepts connections and never reads from them. */
function deafTarget(): ReturnType<Fixtures['server']> {
  return fx.server((socket) => socket.pause())
}

describe('relay caps', () => {
  it('refuses an OPEN that reuses a stream id, even one already reset, by closing the session with 1002', async () => {
    const echo = await fx.echo()
    const {port, token, relay, logs} = await fx.relay([`127.0.0.1:${echo.port}`])
    const session = await RawSession.open(port, token)
    fx.add(() => session.close())
    session.openStream(1, 65_536, `127.0.0.1:${echo.port}`)
    await waitFor(() => echo.sockets.size === 1)
    session.reset(1)
    await waitFor(() => echo.sockets.size === 0)
    session.openStream(1, 65_536, `127.0.0.1:${echo.port}`)
    assert.equal(await session.closed(), CloseCode.ProtocolError)
    assert.match(session.closeReason, /stream id 1 reused/)
    assert.equal(echo.sockets.size, 0, 'the reused id reached no target')
    await waitFor(() => relay.sessionCount === 0)
    assert.ok(logs.some((l) => /tunnel session closed: stream id 1 reused/.test(l)), logs.join('\n'))
  })

  it('refuses an id below one already opened (ids only go up)', async () => {
    const echo = await fx.echo()
    const {port, token} = await fx.relay([`127.0.0.1:${echo.port}`])
    const session = await RawSession.open(port, token)
    fx.add(() => session.close())
    session.openStream(5, 65_536, `127.0.0.1:${echo.port}`)
    session.openStream(3, 65_536, `127.0.0.1:${echo.port}`)
    assert.equal(await session.closed(), CloseCode.ProtocolError)
    assert.match(session.closeReason, /stream id 3 reused/)
  })

  it('24 connections × 8 MiB toward a target that never reads: the relay holds at most its buffer budget, and resets none', async () => {
    const target = await deafTarget()
    const {port, token, relay, logs: relayLogs} = await fx.relay([`127.0.0.1:${target.port}`])
    const {ports, logs} = await fx.client({port, token}, [{target: `127.0.0.1:${target.port}`}])
    const apps = await Promise.all(Array.from({length: 24}, () => connect(ports[0] as number)))
    const outcomes = apps.map((socket) => collect(socket))
    for (const app of apps) app.write(Buffer.alloc(8 * MiB, 7))
    const budget = 8 * MiB
    // Wait until every stream has used all the credit the relay granted it and some windows grew:
    // the relay then holds everything it will ever hold for this target.
    const stalled = await waitFor(() => {
      const stats = relay.stats()
      return stats.streams === 24 && stats.reservedBytes > budget / 2 && stats.outstandingBytes === stats.reservedBytes ? stats : undefined
    }, 120_000, () => `the 24 streams to stall: ${JSON.stringify(relay.stats())}`)
    assert.ok(stalled.reservedBytes <= budget, `reserved ${stalled.reservedBytes} bytes`)
    assert.ok(stalled.bufferedBytes <= budget, `buffered ${stalled.bufferedBytes} bytes`)
    assert.ok(stalled.bufferedBytes > budget / 2, 'the budget, not something smaller, is what holds the streams back')
    assert.deepEqual([...relayLogs, ...logs].filter((l) => /reset|refused|exceeded/.test(l)), [])
    // When the target goes away, its streams are reset on both sides and their windows given back.
    for (const socket of target.sockets) socket.destroy()
    const ended = await Promise.all(outcomes)
    assert.ok(ended.every((o) => o.error?.code === 'ECONNRESET'))
    await waitFor(() => relay.stats().reservedBytes === 0, 30_000, () => `the windows to be given back: ${JSON.stringify(relay.stats())}`)
  })

  it('an old (v1) client: windows above 1 MiB are refused, and 1 MiB windows only while the budget holds them', async () => {
    const target = await deafTarget()
    const {port, token, relay} = await fx.relay([`127.0.0.1:${target.port}`])
    const session = await RawSession.open(port, token, SUBPROTOCOL_V1)
    fx.add(() => session.close())
    for (let id = 1; id <= 24; id++) session.openStream(id, 8 * MiB, `127.0.0.1:${target.port}`)
    await waitFor(() => session.resets.size === 24, 30_000, () => `24 refusals (got ${session.resets.size})`)
    assert.ok([...session.resets.values()].every((r) => r.code === ResetCode.LimitReached && /above the relay's/.test(r.message)))
    for (let id = 25; id <= 48; id++) session.openStream(id, MAX_STREAM_WINDOW, `127.0.0.1:${target.port}`)
    await waitFor(() => session.resets.size === 24 + 20, 30_000, () => `20 more refusals (got ${session.resets.size - 24})`)
    assert.match(session.resets.get(29)?.message ?? '', /buffer are reserved/)
    // The four admitted ones push 8 MiB each regardless of credit: each is reset past its window, and
    // the relay never holds more than its budget.
    for (let id = 25; id <= 28; id++) for (let i = 0; i < 128; i++) session.data(id, Buffer.alloc(65_536))
    await waitFor(() => session.resets.size === 48, 30_000, () => 'the four to be reset')
    assert.ok([25, 26, 27, 28].every((id) => session.resets.get(id)?.code === ResetCode.ProtocolError))
    assert.ok(relay.stats().bufferedBytes <= 8 * MiB)
  })
})
