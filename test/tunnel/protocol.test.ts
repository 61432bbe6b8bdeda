import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {
  FrameError,
  FrameType,
  ResetCode,
  decodeFrame,
  describeReset,
  droppedClose,
  encodeData,
  encodeEof,
  encodeOpen,
  encodeResume,
  encodeRst,
  encodeSession,
  encodeWindow,
  newSessionId,
} from '../../src/tunnel/protocol.js'

describe('tunnel frames', () => {
  it('round-trips every frame type', () => {
    assert.deepEqual(decodeFrame(encodeOpen(7, 1 << 20, 'db.internal:5432')), {type: FrameType.Open, stream: 7, window: 1 << 20, target: 'db.internal:5432'})
    assert.deepEqual(decodeFrame(encodeData(0xffffffff, Buffer.from('abc'))), {type: FrameType.Data, stream: 0xffffffff, data: Buffer.from('abc')})
    assert.deepEqual(decodeFrame(encodeEof(3)), {type: FrameType.Eof, stream: 3})
    assert.deepEqual(decodeFrame(encodeRst(3, ResetCode.Refused, 'ECONNREFUSED')), {type: FrameType.Rst, stream: 3, code: ResetCode.Refused, message: 'ECONNREFUSED'})
    assert.deepEqual(decodeFrame(encodeWindow(3, 65536)), {type: FrameType.Window, stream: 3, increment: 65536})
  })

  it('round-trips the v3 frames: WINDOW with an acknowledgement above 4 GiB, SESSION and RESUME', () => {
    assert.deepEqual(decodeFrame(encodeWindow(3, 0, 5 * 2 ** 32 + 1)), {type: FrameType.Window, stream: 3, increment: 0, acknowledged: 5 * 2 ** 32 + 1})
    const id = newSessionId()
    assert.match(id, /^[0-9a-f]{32}$/)
    const entries = [
      {stream: 1, received: 268_435_457, granted: 300_000_000},
      {stream: 0xfffffff0, received: 0, granted: 4096},
    ]
    assert.deepEqual(decodeFrame(encodeSession(id, true, 42, entries)), {type: FrameType.Session, stream: 0, id, resumed: true, lastOpened: 42, entries})
    assert.deepEqual(decodeFrame(encodeSession(id, false, 0, [])), {type: FrameType.Session, stream: 0, id, resumed: false, lastOpened: 0, entries: []})
    assert.deepEqual(decodeFrame(encodeResume(entries)), {type: FrameType.Resume, stream: 0, entries})
    assert.throws(() => decodeFrame(Buffer.concat([encodeResume(entries), Buffer.from([1])])), /not a multiple of 20/)
  })

  it('tells a dropped WebSocket (resumable) from one a side closed on purpose', () => {
    assert.deepEqual([1006, 1011, 1012, 1014].map(droppedClose), [true, true, true, true])
    assert.deepEqual([1000, 1001, 1002, 1009, 4000, 4001].map(droppedClose), [false, false, false, false, false, false])
  })

  it('keeps a zero-length DATA frame distinct from EOF', () => {
    const frame = decodeFrame(encodeData(1, Buffer.alloc(0)))
    assert.equal(frame.type, FrameType.Data)
  })

  it('rejects malformed frames', () => {
    assert.throws(() => decodeFrame(Buffer.from([1, 0, 0])), FrameError)
    assert.throws(() => decodeFrame(Buffer.from([9, 0, 0, 0, 1])), /unknown frame type 9/)
    assert.throws(() => decodeFrame(Buffer.from([FrameType.Window, 0, 0, 0, 1, 0])), /4 or 12 bytes/)
    assert.throws(() => decodeFrame(Buffer.from([FrameType.Rst, 0, 0, 0, 1])), /without a code/)
  })

  it('says what a reset means', () => {
    assert.equal(describeReset(ResetCode.NotAllowed, '10.0.0.1:22 is not a target of this tunnel'), 'target is not allowed by this tunnel: 10.0.0.1:22 is not a target of this tunnel')
  })
})
