// The tunnel's one back-off: the delays every retrying connection waits, and the retry loop's rules.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {Backoff, RELAY_BACKOFF, RetryStopped, retryUntil} from '../../src/tunnel/backoff.js'

describe('tunnel back-off', () => {
  it('doubles from 200 ms to a 5 s cap, and starts over after a success', () => {
    const backoff = new Backoff(RELAY_BACKOFF)
    assert.deepEqual(Array.from({length: 8}, () => backoff.next()), [200, 400, 800, 1600, 3200, 5000, 5000, 5000])
    assert.equal(backoff.count, 8)
    backoff.reset()
    assert.equal(backoff.next(), 200)
  })

  it('retries until an attempt succeeds, counting the failures', async () => {
    const backoff = new Backoff({firstMs: 1, maxMs: 1})
    let calls = 0
    const value = await retryUntil(async () => {
      calls++
      if (calls < 4) throw new Error(`attempt ${calls} failed`)
      return 'connected'
    }, {deadlineMs: 60_000, backoff})
    assert.equal(value, 'connected')
    assert.equal(calls, 4)
    assert.equal(backoff.count, 3)
  })

  it('gives up with the last error once the deadline has passed, or at once on a final error', async () => {
    let calls = 0
    await assert.rejects(
      retryUntil(async () => {
        calls++
        throw new Error('still booting')
      }, {deadlineMs: 0, backoff: new Backoff()}),
      /still booting/,
    )
    assert.equal(calls, 1)
    calls = 0
    await assert.rejects(
      retryUntil(async () => {
        calls++
        throw new Error('401: the relay rejected the tunnel token')
      }, {deadlineMs: 60_000, backoff: new Backoff(), isFinal: (error) => error.message.startsWith('401')}),
      /401/,
    )
    assert.equal(calls, 1)
  })

  it('stops waiting as soon as its signal aborts', async () => {
    const stop = new AbortController()
    const attempts: number[] = []
    const running = retryUntil(async () => {
      attempts.push(attempts.length)
      if (attempts.length === 1) setImmediate(() => stop.abort())
      throw new Error('refused')
    }, {deadlineMs: 600_000, backoff: new Backoff({firstMs: 3_600_000, maxMs: 3_600_000}), signal: stop.signal})
    // The back-off would wait an hour (longer than the test may run): only the abort can end the wait.
    await assert.rejects(running, (error: Error) => error instanceof RetryStopped)
    assert.equal(attempts.length, 1)
  })
})
