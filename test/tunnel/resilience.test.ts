// Failure modes 10 and 15: an app killed mid-download, and an intermediary that cuts idle
// connections between the client and the relay.
import assert from 'node:assert/strict'
import net from 'node:net'
import {afterEach, describe, it} from 'node:test'

import {Fixtures, TunnelClient, collect, connect, countPongs, waitFor} from './harness.js'

const fx = new Fixtures()
afterEach(() => fx.closeAll())

/** A TCP hop that, like a load balancer, cuts any connection idle for `idleMs` in either direction. */
async function idleCuttingHop(toPort: number, idleMs: number): Promise<{port: number; cuts: () => number}> {
  let cuts = 0
  const server = net.createServer((client) => {
    const upstream = net.connect({host: '127.0.0.1', port: toPort})
    let timer: NodeJS.Timeout
    const arm = (): void => {
      clearTimeout(timer)
      timer = setTimeout(() => {
        cuts++
        client.destroy()
        upstream.destroy()
      }, idleMs)
    }
    arm()
    client.on('data', arm)
    upstream.on('data', arm)
    client.pipe(upstream).pipe(client)
    const done = (): void => {
      clearTimeout(timer)
      client.destroy()
      upstream.destroy()
    }
    client.on('close', done).on('error', done)
    upstream.on('close', done).on('error', done)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  fx.add(() => new Promise<void>((resolve) => {
    server.close(() => resolve())
    server.emit('close')
  }))
  return {port: (server.address() as net.AddressInfo).port, cuts: () => cuts}
}

async function tunnelVia(port: number, token: string, target: string, heartbeatMs: number): Promise<{client: TunnelClient; local: number}> {
  const client = new TunnelClient({
    endpoint: {url: `ws://127.0.0.1:${port}/`, token},
    forwards: [{bind: '127.0.0.1', localPort: 0, target, label: target}],
    heartbeatMs,
    maxBackoffMs: 200,
    log: () => undefined,
  })
  const [active] = await client.listen()
  fx.add(() => client.close(0))
  await client.connect(10_000)
  return {client, local: active!.port}
}

describe('tunnel resilience', () => {
  it('an app killed mid-download frees the target connection, and the next connection works', async () => {
    let served = 0
    const target = await fx.server((socket) => {
      served++
      const chunk = Buffer.alloc(64 * 1024, 120)
      const pump = (): void => {
        while (!socket.destroyed && socket.write(chunk));
      }
      socket.on('drain', pump)
      pump()
    })
    const relay = await fx.relay([`127.0.0.1:${target.port}`])
    const {ports} = await fx.client(relay, [{target: `127.0.0.1:${target.port}`}])
    const local = ports[0] as number
    const app = await connect(local)
    let received = 0
    await new Promise<void>((resolve) => {
      app.on('data', (chunk: Buffer) => {
        received += chunk.length
        if (received > 4 * 1024 * 1024) {
          app.destroy() // killed mid-download
          resolve()
        }
      })
    })
    await waitFor(() => target.sockets.size === 0, 5_000, () => `${target.sockets.size} target connection(s) still open after the app died`)
    const next = await connect(local)
    const got = new Promise<number>((resolve) => next.once('data', (chunk: Buffer) => resolve(chunk.length)))
    assert.ok((await got) > 0)
    next.destroy()
    assert.equal(served, 2)
  })

  it('heartbeats keep the tunnel through an intermediary that cuts idle connections', async () => {
    const echo = await fx.echo()
    const relay = await fx.relay([`127.0.0.1:${echo.port}`])
    const hop = await idleCuttingHop(relay.port, 1_000)
    // Pings every 100 ms: the hop never sees 1 s of silence.
    const {client, local} = await tunnelVia(hop.port, relay.token, `127.0.0.1:${echo.port}`, 100)
    const session = client.relay.session
    const pongs = await countPongs(client)
    const socket = await connect(local)
    const got = collect(socket)
    socket.write('before ')
    // The app stays idle while 35 heartbeats go through the hop, at least 100 ms apart: longer than
    // 3× the hop's idle timeout.
    await waitFor(() => pongs() >= 35, 60_000, () => `35 pongs through the hop (got ${pongs()})`)
    socket.end('after')
    assert.equal((await got).data.toString(), 'before after')
    assert.equal(hop.cuts(), 0)
    assert.equal(client.relay.session, session, 'the same WebSocket session the whole time')
  })

  it('without heartbeats inside the idle timeout the intermediary cuts the tunnel (the control case)', async () => {
    const echo = await fx.echo()
    const relay = await fx.relay([`127.0.0.1:${echo.port}`])
    const hop = await idleCuttingHop(relay.port, 300)
    const {client} = await tunnelVia(hop.port, relay.token, `127.0.0.1:${echo.port}`, 60_000)
    const ws = client.relay.session?.ws
    await waitFor(() => (hop.cuts() > 0 ? true : undefined), 5_000, () => 'the hop to cut the idle tunnel')
    // The client notices and reconnects through the hop on its own (resuming its session on a new WebSocket).
    await waitFor(() => (client.relay.session && client.relay.session.ws !== ws ? true : undefined), 5_000, () => 'a new WebSocket')
  })
})
