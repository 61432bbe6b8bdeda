// When a stream gives credit back (WINDOW frames): at once for bulk transfers and for a kilobyte or
// more, but small request/response messages share one WINDOW a moment later instead of one each. A
// real socket pair carries the bytes; the session is a stub that records frames; setTimeout is mocked
// so that "a moment later" happens when the test says.
import assert from 'node:assert/strict'
import {once} from 'node:events'
import net from 'node:net'
import {setImmediate as nextTurn} from 'node:timers/promises'
import {afterEach, beforeEach, describe, it, mock} from 'node:test'

import {FrameType, decodeFrame} from '../../src/tunnel/protocol.js'
import {type StreamSession, TunnelStream} from '../../src/tunnel/stream.js'

interface Window {
  increment: number
}

/** A stream whose socket is one end of a loopback pair; `peer` is the other end (the app or target). */
async function streamPair(window = 1024 * 1024): Promise<{stream: TunnelStream; peer: net.Socket; windows: Window[]; close: () => void}> {
  const server = net.createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const accepted = once(server, 'connection')
  const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1')
  const [peer] = (await accepted) as [net.Socket]
  await once(socket, 'connect')
  const windows: Window[] = []
  const session: StreamSession = {
    send: (frame, done) => {
      const decoded = decodeFrame(frame)
      if (decoded.type === FrameType.Window) windows.push({increment: decoded.increment})
      done?.()
    },
    congested: () => false,
    waitForDrain: () => undefined,
    carrying: () => true,
    release: () => undefined,
  }
  const stream = new TunnelStream(1, socket, session, {send: window, receive: window})
  return {
    stream,
    peer,
    windows,
    close: () => {
      socket.destroy()
      peer.destroy()
      server.close()
    },
  }
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

describe('stream credit', () => {
  beforeEach(() => mock.timers.enable({apis: ['setTimeout']}))
  afterEach(() => mock.timers.reset())

  it('gives the credit of small request/response messages back in one WINDOW a moment later, not one per message', async () => {
    const {stream, peer, windows, close} = await streamPair()
    try {
      for (let i = 0; i < 10; i++) await deliver(stream, peer, Buffer.alloc(20, i))
      assert.equal(windows.length, 0, 'no WINDOW per small message')
      assert.equal(stream.outstanding, 200, 'the credit is held, not lost')
      mock.timers.tick(20)
      assert.deepEqual(windows, [{increment: 200}])
      assert.equal(stream.outstanding, 0)
    } finally {
      close()
    }
  })

  it('gives a kilobyte or more back at once, with what was held before it', async () => {
    const {stream, peer, windows, close} = await streamPair()
    try {
      await deliver(stream, peer, Buffer.alloc(100, 1))
      assert.equal(windows.length, 0)
      await deliver(stream, peer, Buffer.alloc(1024, 2))
      assert.deepEqual(windows, [{increment: 1124}])
      mock.timers.tick(20)
      assert.equal(windows.length, 1, 'nothing left to send later')
    } finally {
      close()
    }
  })

  it('never holds back a quarter of a small window (the peer would stall)', async () => {
    const {stream, peer, windows, close} = await streamPair(1024)
    try {
      await deliver(stream, peer, Buffer.alloc(256, 3))
      assert.deepEqual(windows, [{increment: 256}])
    } finally {
      close()
    }
  })
})
