import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {FrameError, FrameType, ResetCode, decodeFrame, describeReset, encodeData, encodeEof, encodeOpen, encodeRst, encodeWindow} from '../../src/tunnel/protocol.js'

describe('tunnel frames', () => {
  it('round-trips every frame type', () => {
    assert.deepEqual(decodeFrame(encodeOpen(7, 1 << 20, 'db.internal:5432')), {type: FrameType.Open, stream: 7, window: 1 << 20, target: 'db.internal:5432'})
    assert.deepEqual(decodeFrame(encodeData(0xffffffff, Buffer.from('abc'))), {type: FrameType.Data, stream: 0xffffffff, data: Buffer.from('abc')})
    assert.deepEqual(decodeFrame(encodeEof(3)), {type: FrameType.Eof, stream: 3})
    assert.deepEqual(decodeFrame(encodeRst(3, ResetCode.Refused, 'ECONNREFUSED')), {type: FrameType.Rst, stream: 3, code: ResetCode.Refused, message: 'ECONNREFUSED'})
    assert.deepEqual(decodeFrame(encodeWindow(3, 65536)), {type: FrameType.Window, stream: 3, increment: 65536})
  })

  it('keeps a zero-length DATA frame distinct from EOF', () => {
    const frame = decodeFrame(encodeData(1, Buffer.alloc(0)))
    assert.equal(frame.type, FrameType.Data)
  })

  it('rejects malformed frames', () => {
    assert.throws(() => decodeFrame(Buffer.from([1, 0, 0])), FrameError)
    assert.throws(() => decodeFrame(Buffer.from([9, 0, 0, 0, 1])), /unknown frame type 9/)
    assert.throws(() => decodeFrame(Buffer.from([FrameType.Window, 0, 0, 0, 1, 0])), /4 bytes/)
    assert.throws(() => decodeFrame(Buffer.from([FrameType.Rst, 0, 0, 0, 1])), /without a code/)
  })

  it('says what a reset means', () => {
    assert.equal(describeReset(ResetCode.NotAllowed, '10.0.0.1:22 is not a target of this tunnel'), 'target is not allowed by this tunnel: 10.0.0.1:22 is not a target of this tunnel')
  })
})
