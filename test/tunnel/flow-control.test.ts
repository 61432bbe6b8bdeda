// Per-stream credit under load: a sender never puts more bytes in flight than the receiver granted,
// whatever size its socket reads are, so busy streams are never reset with "peer exceeded the stream
// window" (the crash `npm run bench:tunnel` hit with 8 bulk connections). And when credit goes back:
// at once for bulk transfers and for a kilobyte or more, but small request/response messages share one
// WINDOW a moment later instead of one each (setTimeout mocked there, so "later" is when the test says).
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import net from 'node:net'
import {setImmediate as nextTurn} from 'node:timers/promises'
import {after, afterEach, beforeEach, describe, it, mock} from 'node:test'

import {type StreamSession, TunnelStream} from '../../src/tunnel/stream.js'
import {FrameType, decodeFrame} from '../../src/tunnel/protocol.js'
import {Fixtures, connect, hashIncoming, sendRandom, waitFor} from './harness.js'

const fx = new Fixtures()
afterEach(() => fx.closeAll())
after(() => fx.closeAll())

/** A connected pair of loopback sockets (closed by the fixtures). */
async function socketPair(): Promise<[net.Socket, net.Socket]> {
  let accepted!: (socket: net.Socket) => void
  const far = new Promise<net.Socket>((resolve) => (accepted = resolve))
  const {port} = await fx.server((socket) => accepted(socket))
  const near = await connect(port)
  fx.add(() => {
    near.destroy()
  })
  return [near, await far]
}

/** A session that hands each frame sent to `onFrame` and reports every write as done. */
function recordingSession(onFrame: (frame: ReturnType<typeof decodeFrame>) => void): StreamSession {
  return {
    send: (frame, done) => {
      onFrame(decodeFrame(frame))
      done?.()
    },
    congested: () => false,
    waitForDrain: () => undefined,
    release: () => undefined,
    carrying: () => true,
  }
}

describe('tunnel flow control', () => {
  it('a stream sends no more DATA than its credit, even when one socket read is larger than what is left', async () => {
    const [near, far] = await socketPair()
    const window = 100_003 // not a multiple of any read size
    const sent: Buffer[] = []
    const session = recordingSession((decoded) => {
      if (decoded.type === FrameType.Data) sent.push(Buffer.from(decoded.data))
    })
    const stream = new TunnelStream(1, near, session, {send: window, receive: window})
    const payload = crypto.randomBytes(1_000_000)
    far.write(payload)
    const total = (): number => sent.reduce((n, b) => n + b.length, 0)
    // Without credit coming back, the stream must stop at exactly the window.
    await waitFor(() => total() === window || total() > window, 10_000, () => `DATA frames to reach the window (${total()} bytes so far)`)
    assert.equal(total(), window, 'the stream sent more than its credit')
    // Credit in odd increments releases exactly that much more, and every byte arrives in order.
    for (let granted = window; granted < payload.length; ) {
      const increment = Math.min(77_777, payload.length - granted)
      granted += increment
      stream.onWindow(increment)
      await waitFor(() => total() === granted || total() > granted, 10_000, () => `${granted} bytes (have ${total()})`)
      assert.equal(total(), granted, 'the stream sent more than its credit')
    }
    assert.ok(Buffer.concat(sent).equals(payload))
  })

  it('16 connections moving 8 MiB each way at once through client and relay arrive intact, none reset', async () => {
    // The target echoes, but reads in bursts: its socket buffers fill, credit comes back late and in
    // odd amounts, and each side keeps running into its window.
    const target = await fx.server((socket) => {
      socket.pipe(socket)
      const throttle = setInterval(() => {
        socket.pause()
        setTimeout(() => socket.resume(), 3)
      }, 7)
      socket.on('close', () => clearInterval(throttle))
    })
    const relay = await fx.relay([`127.0.0.1:${target.port}`])
    const {ports, logs} = await fx.client(relay, [{target: `127.0.0.1:${target.port}`}])
    const size = 8 * 1024 * 1024
    const results = await Promise.all(
      Array.from({length: 16}, async () => {
        const socket = await connect(ports[0] as number)
        const received = hashIncoming(socket)
        // Odd write sizes, so socket reads on the way rarely line up with the credit left.
        const sent = await sendRandom(socket, size, 65_536 + crypto.randomInt(1, 4096))
        socket.end()
        const got = await received
        return {same: got.hash === sent && got.bytes === size, error: got.error?.message, bytes: got.bytes}
      }),
    )
    const resets = [...logs, ...relay.logs].filter((line) => /window|protocol error/.test(line))
    assert.deepEqual(resets, [], 'no stream may be reset for exceeding its window')
    assert.deepEqual(results.filter((r) => !r.same), [], 'every connection gets its own bytes back')
  })
})

describe('when credit goes back', () => {
  beforeEach(() => mock.timers.enable({apis: ['setTimeout']}))
  afterEach(() => mock.timers.reset())

  /** A stream on one end of a socket pair, and the WINDOW increments it sends. */
  async function creditStream(window = 1024 * 1024): Promise<{stream: TunnelStream; peer: net.Socket; windows: number[]}> {
    const [near, peer] = await socketPair()
    const windows: number[] = []
    const stream = new TunnelStream(1, near, recordingSession((decoded) => decoded.type === FrameType.Window && windows.push(decoded.increment)), {send: window, receive: window})
    return {stream, peer, windows}
  }

  /** Hands `data` to the stream as a DATA frame would, and waits until its socket has written it. */
  async function deliver(stream: TunnelStream, peer: net.Socket, data: Buffer): Promise<void> {
    let got = 0
    const arrived = new Promise<void>((resolve) => {
      const onData = (chunk: Buffer): void => {
        got += chunk.length
        if (got < data.length) return
        peer.off('data', onData)
        resolve()
      }
      peer.on('data', onData)
    })
    stream.onData(data)
    await arrived
    // The write's callback (where credit is decided) runs once the write completed.
    while (!stream.idle) await nextTurn()
    await nextTurn()
  }

  it('gives the credit of small request/response messages back in one WINDOW a moment later, not one per message', async () => {
    const {stream, peer, windows} = await creditStream()
    for (let i = 0; i < 10; i++) await deliver(stream, peer, Buffer.alloc(20, i))
    assert.deepEqual(windows, [], 'no WINDOW per small message')
    assert.equal(stream.outstanding, 200, 'the credit is held, not lost')
    mock.timers.tick(20)
    assert.deepEqual(windows, [200])
    assert.equal(stream.outstanding, 0)
  })

  it('gives a kilobyte or more back at once, with what was held before it', async () => {
    const {stream, peer, windows} = await creditStream()
    await deliver(stream, peer, Buffer.alloc(100, 1))
    assert.deepEqual(windows, [])
    await deliver(stream, peer, Buffer.alloc(1024, 2))
    assert.deepEqual(windows, [1124])
    mock.timers.tick(20)
    assert.deepEqual(windows, [1124], 'nothing left to send later')
  })

  it('never holds back a quarter of a small window (the peer would stall)', async () => {
    const {stream, peer, windows} = await creditStream(1024)
    await deliver(stream, peer, Buffer.alloc(256, 3))
    assert.deepEqual(windows, [256])
  })
})
