// The client bridge and the relay over loopback, without the platform: integrity, close semantics,
// isolation, backpressure and heartbeat-driven recovery.
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import {after, afterEach, describe, it} from 'node:test'

import {Fixtures, collect, connect, hashIncoming, sendRandom, sha256, waitFor} from './harness.js'

const fx = new Fixtures()
afterEach(() => fx.closeAll())
after(() => fx.closeAll())

describe('tunnel bridge (loopback, in-process relay)', () => {
  it('carries 32 MiB each way on one connection with the bytes intact', async () => {
    const echo = await fx.echo()
    const relay = await fx.relay([`127.0.0.1:${echo.port}`])
    const {ports} = await fx.client(relay, [{target: `127.0.0.1:${echo.port}`}])
    const socket = await connect(ports[0] as number)
    const received = hashIncoming(socket)
    const sent = await sendRandom(socket, 32 * 1024 * 1024)
    socket.end()
    const result = await received
    assert.equal(result.bytes, 32 * 1024 * 1024)
    assert.equal(result.hash, sent)
  })

  it('keeps 200 concurrent connections separate, and gives every descriptor back', async () => {
    const echo = await fx.echo()
    const relay = await fx.relay([`127.0.0.1:${echo.port}`])
    const {ports} = await fx.client(relay, [{target: `127.0.0.1:${echo.port}`}])
    // App, listener, relay and target all live in this process: its open descriptors are the
    // tunnel's sockets (no CLOSE_WAIT left behind, cf. kube-rs#973).
    const openFds = () => fs.readdirSync('/proc/self/fd').length
    const baseline = openFds()
    const results = await Promise.all(
      Array.from({length: 200}, async () => {
        const socket = await connect(ports[0] as number)
        const payload = crypto.randomBytes(20_000 + crypto.randomInt(50_000))
        const got = collect(socket)
        socket.end(payload)
        const {data} = await got
        return sha256(data) === sha256(payload)
      }),
    )
    assert.equal(results.filter(Boolean).length, 200)
    await waitFor(() => openFds() <= baseline, 10_000, () => `${openFds()} descriptors open, ${baseline} before the connections`)
  })

  it('half-close from the app: the target sees EOF and the app still gets the whole reply', async () => {
    // Answers only after the request ended, like `echo ruok | nc -N`.
    const target = await fx.server((socket) => {
      const chunks: Buffer[] = []
      socket.on('data', (c: Buffer) => chunks.push(c))
      socket.on('end', () => {
        const request = Buffer.concat(chunks).toString()
        socket.end(`reply to ${request}: ${'x'.repeat(200_000)}`)
      })
    })
    const relay = await fx.relay([`127.0.0.1:${target.port}`])
    const {ports} = await fx.client(relay, [{target: `127.0.0.1:${target.port}`}])
    const socket = await connect(ports[0] as number)
    const got = collect(socket)
    socket.end('ruok')
    const {data, error} = await got
    assert.equal(error, undefined)
    assert.equal(data.toString(), `reply to ruok: ${'x'.repeat(200_000)}`)
  })

  it('half-close from the target: the app sees EOF and its later writes still reach the target', async () => {
    let targetReceived = ''
    const targetDone = new Promise<void>((resolve) => {
      void fx.server((socket) => {
        socket.end('banner then FIN')
        socket.on('data', (c: Buffer) => (targetReceived += c.toString()))
        socket.on('end', () => resolve())
      }).then((t) => (targetPort = t.port))
    })
    let targetPort = 0
    await waitFor(() => targetPort || undefined)
    const relay = await fx.relay([`127.0.0.1:${targetPort}`])
    const {ports} = await fx.client(relay, [{target: `127.0.0.1:${targetPort}`}])
    const socket = await connect(ports[0] as number)
    const ended = new Promise<string>((resolve) => {
      let text = ''
      socket.on('data', (c: Buffer) => (text += c.toString()))
      socket.on('end', () => resolve(text))
    })
    assert.equal(await ended, 'banner then FIN')
    socket.end('written after the target closed its side')
    await targetDone
    assert.equal(targetReceived, 'written after the target closed its side')
  })

  it('delivers data written immediately before close, and empty writes are not EOF', async () => {
    const echo = await fx.echo()
    const relay = await fx.relay([`127.0.0.1:${echo.port}`])
    const {ports} = await fx.client(relay, [{target: `127.0.0.1:${echo.port}`}])
    const socket = await connect(ports[0] as number)
    const got = collect(socket)
    socket.write('')
    socket.write(Buffer.alloc(0))
    socket.write('first ')
    socket.end('last words')
    assert.equal((await got).data.toString(), 'first last words')
  })

  it('an app that aborts resets the target connection promptly', async () => {
    let targetSocket: net.Socket | undefined
    const target = await fx.server((socket) => (targetSocket = socket))
    const relay = await fx.relay([`127.0.0.1:${target.port}`])
    const {ports} = await fx.client(relay, [{target: `127.0.0.1:${target.port}`}])
    const socket = await connect(ports[0] as number)
    socket.write('hello')
    const t = await waitFor(() => targetSocket)
    const closed = new Promise<void>((resolve) => t.once('close', () => resolve()))
    socket.resetAndDestroy()
    await closed
    assert.equal(t.destroyed, true)
  })

  it('a target that resets shows up as a reset to the app, not a clean end', async () => {
    const target = await fx.server((socket) => {
      socket.once('data', () => socket.resetAndDestroy())
    })
    const relay = await fx.relay([`127.0.0.1:${target.port}`])
    const {ports} = await fx.client(relay, [{target: `127.0.0.1:${target.port}`}])
    const socket = await connect(ports[0] as number)
    const got = collect(socket)
    socket.write('trigger')
    const {error} = await got
    assert.equal(error?.code, 'ECONNRESET')
  })

  it('a refused target resets only that connection; the listener and other connections carry on', async () => {
    const echo = await fx.echo()
    const closedPort = await freePort()
    const relay = await fx.relay([`127.0.0.1:${echo.port}`, `127.0.0.1:${closedPort}`])
    const {ports, logs} = await fx.client(relay, [{target: `127.0.0.1:${echo.port}`}, {target: `127.0.0.1:${closedPort}`}])
    const good = await connect(ports[0] as number)
    const goodGot = collect(good)
    good.write('before ')
    const bad = await connect(ports[1] as number)
    const badResult = await collect(bad)
    assert.equal(badResult.error?.code, 'ECONNRESET')
    await waitFor(() => logs.some((l) => /target refused the connection: 127\.0\.0\.1:\d+: ECONNREFUSED/.test(l)), 5_000, () => logs.join('\n'))
    good.end('after')
    assert.equal((await goodGot).data.toString(), 'before after')
    // The target comes up on the refused port: the same mapping now works.
    const late = net.createServer((s) => s.end('up now'))
    await new Promise<void>((resolve) => late.listen(closedPort, '127.0.0.1', resolve))
    fx.add(() => new Promise<void>((resolve) => late.close(() => resolve())))
    const again = await connect(ports[1] as number)
    const againGot = collect(again)
    again.end()
    assert.equal((await againGot).data.toString(), 'up now')
  })

  it('refuses a target outside the allow-list, per stream', async () => {
    const echo = await fx.echo()
    const secret = await fx.server((s) => s.end('must never be reached'))
    const relay = await fx.relay([`127.0.0.1:${echo.port}`])
    // A client that asks for a target the relay was not created with.
    const {ports, logs} = await fx.client(relay, [{target: `127.0.0.1:${secret.port}`}, {target: `127.0.0.1:${echo.port}`}])
    const socket = await connect(ports[0] as number)
    const {data, error} = await collect(socket)
    assert.equal(data.length, 0)
    assert.equal(error?.code, 'ECONNRESET')
    assert.equal(secret.sockets.size, 0)
    await waitFor(() => logs.some((l) => l.includes('target is not allowed by this tunnel')), 5_000, () => logs.join('\n'))
    const ok = await connect(ports[1] as number)
    const got = collect(ok)
    ok.end('still fine')
    assert.equal((await got).data.toString(), 'still fine')
  })

  it('bounds memory with a slow reader: the target is paused instead of buffering everything', async () => {
    let targetWritten = 0
    let stop = false
    const target = await fx.server((socket) => {
      const chunk = Buffer.alloc(64 * 1024, 7)
      const pump = (): void => {
        while (!stop && socket.writable) {
          targetWritten += chunk.length
          if (!socket.write(chunk)) {
            socket.once('drain', pump)
            return
          }
        }
      }
      pump()
    })
    const relay = await fx.relay([`127.0.0.1:${target.port}`])
    const {ports} = await fx.client(relay, [{target: `127.0.0.1:${target.port}`}])
    const socket = await connect(ports[0] as number)
    socket.pause() // the app never reads
    // Wait until the pipeline stops accepting data, then check it stopped near the bound.
    let last = -1
    await waitFor(async () => {
      const now = targetWritten
      if (now === last && now > 0) return true
      last = now
      await new Promise((resolve) => setTimeout(resolve, 200))
      return false
    }, 20_000, () => 'the target to be paused')
    stop = true
    // Kernel buffers on three sockets plus one window: far below what an unbounded relay would take.
    assert.ok(targetWritten < 64 * 1024 * 1024, `target wrote ${targetWritten} bytes into a paused tunnel`)
    socket.destroy()
  })

  it('a slow target paces the app without stalling: 16 MiB arrive intact', async () => {
    // The target reads in short bursts, so its receive buffer fills and credit returns late.
    let resolveHash: (h: string) => void = () => {}
    const targetHash = new Promise<string>((resolve) => (resolveHash = resolve))
    const target = await fx.server((socket) => {
      const hash = crypto.createHash('sha256')
      socket.on('data', (c: Buffer) => hash.update(c))
      socket.on('end', () => {
        resolveHash(hash.digest('hex'))
        socket.end()
      })
      const throttle = setInterval(() => {
        socket.resume()
        setTimeout(() => socket.pause(), 2)
      }, 10)
      socket.on('close', () => clearInterval(throttle))
    })
    const relay = await fx.relay([`127.0.0.1:${target.port}`])
    const {ports} = await fx.client(relay, [{target: `127.0.0.1:${target.port}`}])
    const socket = await connect(ports[0] as number)
    const closed = collect(socket)
    const sent = await sendRandom(socket, 16 * 1024 * 1024)
    socket.end()
    assert.equal(await targetHash, sent)
    await closed
  })

  it('both ends closing at once with data in flight both ways loses nothing', async () => {
    const payload = crypto.randomBytes(300_000)
    let targetGot: Promise<{data: Buffer}> = Promise.resolve({data: Buffer.alloc(0)})
    const target = await fx.server((socket) => {
      targetGot = collect(socket)
      socket.end(payload) // writes everything and FINs straight away
    })
    const relay = await fx.relay([`127.0.0.1:${target.port}`])
    const {ports} = await fx.client(relay, [{target: `127.0.0.1:${target.port}`}])
    const socket = await connect(ports[0] as number)
    const appGot = collect(socket)
    socket.end(payload) // and so does the app, in the same moment
    assert.equal(sha256((await appGot).data), sha256(payload))
    assert.equal(sha256((await targetGot).data), sha256(payload))
  })

  it('3,000 short connections in a row leave no streams or sockets behind', async () => {
    const echo = await fx.echo()
    const relay = await fx.relay([`127.0.0.1:${echo.port}`])
    const {client, ports} = await fx.client(relay, [{target: `127.0.0.1:${echo.port}`}])
    for (let i = 0; i < 3_000; i++) {
      const socket = await connect(ports[0] as number)
      const got = collect(socket)
      socket.end('x')
      assert.equal((await got).data.toString(), 'x')
    }
    await waitFor(() => client.openConnections === 0 && echo.sockets.size === 0 && client.relay.session?.size === 0, 5_000, () => `open: client ${client.openConnections}, echo ${echo.sockets.size}, streams ${client.relay.session?.size}`)
    const last = await connect(ports[0] as number)
    const got = collect(last)
    last.end('still accepting')
    assert.equal((await got).data.toString(), 'still accepting')
  })

  it('--idle-timeout resets a connection without traffic and leaves busy ones alone', async () => {
    const echo = await fx.echo()
    const relay = await fx.relay([`127.0.0.1:${echo.port}`])
    const {ports, logs} = await fx.client(relay, [{target: `127.0.0.1:${echo.port}`}], {idleTimeoutMs: 300})
    const idle = await connect(ports[0] as number)
    const idleResult = collect(idle)
    const busy = await connect(ports[0] as number)
    const busyResult = collect(busy)
    const ticker = setInterval(() => busy.write('.'), 50)
    const {error} = await idleResult
    assert.equal(error?.code, 'ECONNRESET')
    assert.equal(busy.destroyed, false)
    // The idle stream's target connection is gone too; the busy one's is still there.
    await waitFor(() => echo.sockets.size === 1, 5_000, () => `${echo.sockets.size} target connections; ${logs.join('\n')}`)
    clearInterval(ticker)
    busy.end()
    assert.ok((await busyResult).data.length > 0)
  })

  it('listens on an IPv6 bind address and prints it in brackets', async () => {
    const echo = await fx.echo()
    const relay = await fx.relay([`127.0.0.1:${echo.port}`])
    const {client} = await fx.client(relay, [{target: `127.0.0.1:${echo.port}`, bind: '::1'}])
    const [forward] = client.forwards()
    assert.match(forward?.local ?? '', /^\[::1\]:\d+$/)
    const socket = net.connect({host: '::1', port: forward?.port ?? 0, allowHalfOpen: true})
    const got = collect(socket)
    socket.end('over v6')
    assert.equal((await got).data.toString(), 'over v6')
  })

  it('--bind localhost listens on 127.0.0.1 and ::1 on the same port', async () => {
    const echo = await fx.echo()
    const relay = await fx.relay([`127.0.0.1:${echo.port}`])
    const {client} = await fx.client(relay, [{target: `127.0.0.1:${echo.port}`, bind: 'localhost'}])
    const [forward] = client.forwards()
    assert.match(forward?.local ?? '', /^localhost:\d+$/)
    for (const host of ['127.0.0.1', '::1']) {
      const socket = net.connect({host, port: forward?.port ?? 0, allowHalfOpen: true})
      const got = collect(socket)
      socket.end(`over ${host}`)
      assert.equal((await got).data.toString(), `over ${host}`)
    }
    await client.close(0)
    // Both listeners are gone after close.
    for (const host of ['127.0.0.1', '::1']) {
      const refused = await new Promise<string>((resolve) => net.connect({host, port: forward?.port ?? 0}).on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? '')).on('connect', () => resolve('connected')))
      assert.equal(refused, 'ECONNREFUSED', host)
    }
  })

  it('closes the listener and streams cleanly and leaves no handle behind', async () => {
    const echo = await fx.echo()
    const relay = await fx.relay([`127.0.0.1:${echo.port}`])
    const {client, ports} = await fx.client(relay, [{target: `127.0.0.1:${echo.port}`}])
    const socket = await connect(ports[0] as number)
    const got = collect(socket)
    socket.write('in flight')
    await waitFor(() => echo.sockets.size === 1)
    const closing = client.close(2_000)
    socket.end()
    await closing
    assert.equal((await got).data.toString(), 'in flight')
    await assert.rejects(connect(ports[0] as number), {code: 'ECONNREFUSED'})
    await waitFor(() => relay.relay.sessionCount === 0)
  })
})

async function freePort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as net.AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
