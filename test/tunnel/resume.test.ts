// ukc-tunnel.v3: a WebSocket that drops while client and relay both live does not break the
// connections it carries. The relay runs as a child process (as the platform runs it) behind a TCP hop
// that the test cuts, as a proxy's idle cut or a gateway restart would; the targets are real servers.
import assert from 'node:assert/strict'
import net from 'node:net'
import {afterEach, describe, it} from 'node:test'

import WebSocket from 'ws'

import {FrameType, SUBPROTOCOL, SUBPROTOCOL_V3, decodeFrame, encodeData, encodeOpen} from '../../src/tunnel/protocol.js'
import {Fixtures, collect, connect, hashIncoming, sendRandom, waitFor} from './harness.js'

const fx = new Fixtures()
afterEach(() => fx.closeAll())

const MiB = 1024 * 1024

/** A TCP hop in front of the relay whose connections the test can cut (both sides destroyed at once). */
async function cuttableHop(toPort: number): Promise<{port: number; cut: () => number; cuts: () => number}> {
  const pairs = new Set<[net.Socket, net.Socket]>()
  let cuts = 0
  const server = net.createServer((client) => {
    const upstream = net.connect({host: '127.0.0.1', port: toPort})
    const pair: [net.Socket, net.Socket] = [client, upstream]
    pairs.add(pair)
    client.pipe(upstream).pipe(client)
    const done = (): void => {
      pairs.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    client.on('close', done).on('error', done)
    upstream.on('close', done).on('error', done)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  fx.add(
    () =>
      new Promise<void>((resolve) => {
        for (const pair of pairs) for (const socket of pair) socket.destroy()
        server.close(() => resolve())
      }),
  )
  return {
    port: (server.address() as net.AddressInfo).port,
    cut: () => {
      const open = pairs.size
      for (const pair of [...pairs]) for (const socket of pair) socket.destroy()
      if (open > 0) cuts++
      return open
    },
    cuts: () => cuts,
  }
}

/** A line protocol with per-connection state, like a database session: "INCR" answers the connection's count. */
async function counterServer(): Promise<{port: number; connections: () => number}> {
  let connections = 0
  const {port} = await fx.server((socket) => {
    connections++
    let count = 0
    let pending = ''
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.toString()
      let newline
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline)
        pending = pending.slice(newline + 1)
        socket.write(line === 'INCR' ? `${++count}\n` : `ERR ${line}\n`)
      }
    })
    socket.on('end', () => socket.end())
  })
  return {port, connections: () => connections}
}

/** Sends one line and resolves with the next line the server answers. */
function ask(socket: net.Socket, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = ''
    const onData = (chunk: Buffer): void => {
      got += chunk.toString()
      if (got.includes('\n')) {
        socket.off('data', onData).off('close', onClose)
        resolve(got.trim())
      }
    }
    const onClose = (): void => reject(new Error(`the connection closed before answering ${line}`))
    socket.on('data', onData).once('close', onClose)
    socket.write(`${line}\n`)
  })
}

describe('tunnel resume (ukc-tunnel.v3)', () => {
  it('the WebSocket cut twice mid-transfer of 256 MiB each way: the transfer continues, sha256 equal both ways', async () => {
    const echo = await fx.echo()
    const relay = await fx.relayProcess([`127.0.0.1:${echo.port}`], {heartbeatTimeoutMs: 30_000})
    const hop = await cuttableHop(relay.port)
    const {client, ports, logs} = await fx.client({port: hop.port, token: relay.token}, [{target: `127.0.0.1:${echo.port}`}], {heartbeatMs: 10_000})
    const socket = await connect(ports[0] as number)
    const received = hashIncoming(socket)
    let got = 0
    socket.on('data', (chunk: Buffer) => (got += chunk.length))
    const sent = sendRandom(socket, 256 * MiB).then((hash) => {
      socket.end()
      return hash
    })
    for (const atMiB of [64, 160]) {
      await waitFor(() => got > atMiB * MiB, 300_000, () => `${atMiB} MiB back (got ${got})`)
      const before = client.relay.session?.ws
      assert.equal(hop.cut(), 1, 'one WebSocket to cut')
      await waitFor(() => client.relay.session && client.relay.session.ws !== before, 30_000, () => `a resumed session:\n${logs.join('\n')}\n${relay.output()}`)
    }
    const result = await received
    assert.equal(result.error, undefined, `the app saw ${result.error?.message}`)
    assert.equal(result.bytes, 256 * MiB)
    assert.equal(result.hash, await sent)
    assert.equal(hop.cuts(), 2)
    await waitFor(() => echo.sockets.size === 0, 30_000, () => 'the target connection to end with the transfer')
    assert.equal(logs.filter((l) => /tunnel session resumed: 1 open connection\(s\) carry on/.test(l)).length, 2, logs.join('\n'))
    assert.match(relay.output(), /tunnel session resumed from/)
  })

  it('a stateful protocol session survives the cut on the same target connection and answers the next query', async () => {
    const counter = await counterServer()
    const relay = await fx.relayProcess([`127.0.0.1:${counter.port}`], {heartbeatTimeoutMs: 30_000})
    const hop = await cuttableHop(relay.port)
    const {client, ports, logs} = await fx.client({port: hop.port, token: relay.token}, [{target: `127.0.0.1:${counter.port}`}], {heartbeatMs: 10_000})
    const socket = await connect(ports[0] as number)
    assert.equal(await ask(socket, 'INCR'), '1')
    assert.equal(await ask(socket, 'INCR'), '2')
    const before = client.relay.session?.ws
    assert.equal(hop.cut(), 1)
    // Asked while the WebSocket is down: the question waits in the paused session and is answered after the resume.
    const third = ask(socket, 'INCR')
    await waitFor(() => client.relay.session && client.relay.session.ws !== before, 30_000, () => logs.join('\n'))
    assert.equal(await third, '3')
    assert.equal(await ask(socket, 'INCR'), '4')
    assert.equal(counter.connections(), 1, 'the same target connection: the session state survived')
    const closed = collect(socket)
    socket.end()
    assert.equal((await closed).error, undefined)
  })

  it('a relay that is gone resets the held connections once its heartbeat timeout passes (as before v3)', async () => {
    const counter = await counterServer()
    const relay = await fx.relayProcess([`127.0.0.1:${counter.port}`], {heartbeatTimeoutMs: 30_000})
    const {ports, logs} = await fx.client(relay, [{target: `127.0.0.1:${counter.port}`}], {heartbeatMs: 300, maxBackoffMs: 200})
    const socket = await connect(ports[0] as number)
    assert.equal(await ask(socket, 'INCR'), '1')
    const result = collect(socket)
    relay.child.kill('SIGKILL')
    assert.equal((await result).error?.code, 'ECONNRESET')
    assert.ok(logs.some((l) => /holding 1 open connection/.test(l)), logs.join('\n'))
    assert.ok(logs.some((l) => /could not resume the tunnel session/.test(l)), logs.join('\n'))
  })

  it('a relay that restarted (same port and token) does not know the session: held connections are reset, new ones work', async () => {
    const counter = await counterServer()
    const first = await fx.relayProcess([`127.0.0.1:${counter.port}`], {heartbeatTimeoutMs: 30_000})
    const {ports, logs, client} = await fx.client(first, [{target: `127.0.0.1:${counter.port}`}], {heartbeatMs: 10_000, maxBackoffMs: 200})
    const socket = await connect(ports[0] as number)
    assert.equal(await ask(socket, 'INCR'), '1')
    const result = collect(socket)
    first.child.kill('SIGKILL')
    await first.exited
    await waitFor(() => logs.some((l) => /holding 1 open connection/.test(l)), 10_000, () => logs.join('\n'))
    await fx.relayProcess([`127.0.0.1:${counter.port}`], {port: first.port, token: first.token})
    assert.equal((await result).error?.code, 'ECONNRESET')
    await waitFor(() => client.relay.session, 30_000, () => logs.join('\n'))
    assert.ok(logs.some((l) => /the relay no longer had the tunnel session \(it restarted\): 1 open connection\(s\) were reset/.test(l)), logs.join('\n'))
    const next = await connect(ports[0] as number)
    assert.equal(await ask(next, 'INCR'), '1')
    next.destroy()
  })

  it('the relay resets the target connections of a session not resumed within its heartbeat timeout', async () => {
    const counter = await counterServer()
    const target = await fx.server(() => undefined)
    const relay = await fx.relayProcess([`127.0.0.1:${target.port}`, `127.0.0.1:${counter.port}`], {heartbeatTimeoutMs: 1_000})
    const ws = await v3Session(relay.port, relay.token)
    ws.send(encodeOpen(1, 65_536, `127.0.0.1:${target.port}`))
    await waitFor(() => target.sockets.size === 1, 10_000, () => relay.output())
    ws.terminate() // the client never comes back
    await waitFor(() => target.sockets.size === 0, 30_000, () => `the target connection to be reset:\n${relay.output()}`)
    assert.match(relay.output(), /holding 1 streams for up to 1 s/)
    assert.match(relay.output(), /not resumed within 1 s \(1 streams reset\)/)
  })

  it('24 connections from a target that never stops toward apps that never read: the relay keeps at most its replay budget', async () => {
    const chunk = Buffer.alloc(64 * 1024, 9)
    const target = await fx.server((socket) => {
      const pump = (): void => {
        while (!socket.destroyed && socket.write(chunk));
      }
      socket.on('drain', pump)
      pump()
    })
    const {port, token, relay} = await fx.relay([`127.0.0.1:${target.port}`])
    const {ports} = await fx.client({port, token}, [{target: `127.0.0.1:${target.port}`}])
    const apps = await Promise.all(Array.from({length: 24}, () => connect(ports[0] as number)))
    for (const app of apps) app.pause()
    const budget = 8 * MiB
    // Every stream stops once what it sent and the client has not acknowledged fills its send window.
    const stalled = await waitFor(() => {
      const stats = relay.stats()
      return stats.streams === 24 && stats.replayReservedBytes > budget / 2 && stats.unacknowledgedBytes === stats.replayReservedBytes ? stats : undefined
    }, 120_000, () => `the 24 streams to stall: ${JSON.stringify(relay.stats())}`)
    assert.ok(stalled.replayReservedBytes <= budget, `reserved ${stalled.replayReservedBytes} bytes`)
    assert.ok(stalled.unacknowledgedBytes <= budget, `kept ${stalled.unacknowledgedBytes} bytes`)
    // The apps read again: everything flows, and what was kept is given back.
    for (const app of apps) app.resume()
    await waitFor(() => relay.stats().unacknowledgedBytes < stalled.unacknowledgedBytes, 60_000, () => JSON.stringify(relay.stats()))
    for (const app of apps) app.destroy()
    await waitFor(() => relay.stats().replayReservedBytes === 0, 30_000, () => `the send windows to be given back: ${JSON.stringify(relay.stats())}`)
  })

  it('an older client (ukc-tunnel.v2) gets v2 from a v3 relay: no SESSION frame, WINDOW without acknowledgements', async () => {
    const echo = await fx.echo()
    const relay = await fx.relayProcess([`127.0.0.1:${echo.port}`])
    const ws = new WebSocket(`ws://127.0.0.1:${relay.port}/`, SUBPROTOCOL, {headers: {Authorization: `Bearer ${relay.token}`}, perMessageDeflate: false})
    fx.add(() => ws.terminate())
    const frames: Array<ReturnType<typeof decodeFrame>> = []
    ws.on('message', (data: Buffer) => frames.push(decodeFrame(data)))
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
    assert.equal(ws.protocol, SUBPROTOCOL)
    ws.send(encodeOpen(1, 65_536, `127.0.0.1:${echo.port}`))
    ws.send(encodeData(1, Buffer.from('v2 still works')))
    await waitFor(() => frames.some((f) => f.type === FrameType.Data) && frames.some((f) => f.type === FrameType.Window), 10_000, () => JSON.stringify(frames))
    assert.ok(frames.every((f) => f.type !== FrameType.Session))
    assert.ok(frames.every((f) => f.type !== FrameType.Window || f.acknowledged === undefined))
    const data = frames.find((f) => f.type === FrameType.Data)
    assert.equal(data?.type === FrameType.Data ? data.data.toString() : '', 'v2 still works')
  })
})

/** A v3 session spoken frame by frame; resolves once the relay's SESSION frame arrived. */
async function v3Session(port: number, token: string): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, SUBPROTOCOL_V3, {headers: {Authorization: `Bearer ${token}`}, perMessageDeflate: false})
  // Heartbeats, as the CLI sends them, so that only the cut (not a busy machine) ends the WebSocket.
  const heartbeat = setInterval(() => ws.readyState === ws.OPEN && ws.ping(), 100)
  ws.once('close', () => clearInterval(heartbeat))
  fx.add(() => {
    clearInterval(heartbeat)
    ws.terminate()
  })
  ws.on('error', () => undefined)
  await new Promise<void>((resolve, reject) => {
    ws.once('message', (data: Buffer) => (decodeFrame(data).type === FrameType.Session ? resolve() : reject(new Error('expected SESSION first'))))
    ws.once('error', reject)
  })
  return ws
}
