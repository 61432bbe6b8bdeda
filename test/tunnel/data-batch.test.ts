import assert from 'node:assert/strict'
import {setImmediate as nextTurn} from 'node:timers/promises'
import {describe, it} from 'node:test'

import {MAX_DATA_BYTES, OutgoingData} from '../../src/tunnel/data-batch.js'
import {FrameType, MAX_FRAME_BYTES, decodeFrame, encodeData} from '../../src/tunnel/protocol.js'

function collect(): {frames: Buffer[]; data: () => Buffer[]} {
  const frames: Buffer[] = []
  return {
    frames,
    data: () =>
      frames.map((f) => {
        const frame = decodeFrame(f)
        assert.equal(frame.type, FrameType.Data)
        return (frame as {data: Buffer}).data
      }),
  }
}

describe('tunnel data batching', () => {
  it('encodes chunks as one DATA frame with their bytes in order', () => {
    assert.deepEqual(decodeFrame(encodeData(9, [Buffer.from('ab'), Buffer.alloc(0), Buffer.from('cde')])), {type: FrameType.Data, stream: 9, data: Buffer.from('abcde')})
  })

  it('sends the reads of one turn as one frame at its end, in order', async () => {
    const out = collect()
    const batch = new OutgoingData(3, (frame) => out.frames.push(frame))
    batch.push(Buffer.from('one '))
    batch.push(Buffer.from('two '))
    assert.equal(out.frames.length, 0, 'nothing leaves before the turn ends')
    await nextTurn()
    batch.push(Buffer.from('three'))
    await nextTurn()
    assert.deepEqual(out.data().map(String), ['one two ', 'three'])
  })

  it('never builds a frame larger than the peer accepts', async () => {
    const out = collect()
    const batch = new OutgoingData(1, (frame) => out.frames.push(frame))
    const chunk = Buffer.alloc(64 * 1024, 7)
    for (let i = 0; i < 9; i++) batch.push(chunk)
    await nextTurn()
    assert.ok(out.frames.every((f) => f.length <= MAX_FRAME_BYTES))
    assert.equal(out.data().reduce((sum, d) => sum + d.length, 0), 9 * chunk.length)
    assert.ok(out.frames.length >= Math.ceil((9 * chunk.length) / MAX_DATA_BYTES))
  })

  it('flushes what is queued at once (before an EOF) and sends nothing once dropped', async () => {
    const out = collect()
    const batch = new OutgoingData(1, (frame) => out.frames.push(frame))
    batch.push(Buffer.from('last bytes'))
    batch.flush()
    assert.deepEqual(out.data().map(String), ['last bytes'])
    batch.push(Buffer.from('after a reset'))
    batch.drop()
    await nextTurn()
    assert.equal(out.frames.length, 1)
  })
})
