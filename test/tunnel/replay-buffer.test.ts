import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {ReplayBuffer} from '../../src/tunnel/replay-buffer.js'

describe('replay buffer (v3)', () => {
  it('keeps what was sent until it is acknowledged, also in the middle of a chunk', () => {
    const replay = new ReplayBuffer()
    replay.push(Buffer.from('hello '))
    replay.push(Buffer.from('world'))
    assert.equal(replay.held, 11)
    assert.equal(replay.acknowledge(3), 3)
    assert.equal(replay.held, 8)
    assert.equal(Buffer.concat(replay.since(3).chunks).toString(), 'lo world')
    assert.equal(Buffer.concat(replay.since(8).chunks).toString(), 'rld')
    assert.equal(replay.held, 3)
    // An older acknowledgement (a WINDOW that crossed the resume) changes nothing.
    assert.equal(replay.acknowledge(5), 0)
    assert.equal(replay.held, 3)
    assert.equal(replay.settled, false)
    assert.equal(replay.acknowledge(11), 3)
    assert.equal(replay.settled, true)
  })

  it('counts the EOF as one position: sent again until the peer has it', () => {
    const replay = new ReplayBuffer()
    replay.push(Buffer.from('bye'))
    replay.pushEof()
    assert.equal(replay.end, 4)
    assert.deepEqual(replay.since(3), {chunks: [], eof: true})
    assert.equal(replay.settled, false)
    assert.deepEqual(replay.since(4), {chunks: [], eof: false})
    assert.equal(replay.settled, true)
  })
})
