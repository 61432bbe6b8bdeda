// The relay's limits as units: failed handshakes per source in a bounded table, who the source is
// behind a proxy, and the buffer budget every stream's receive window is reserved from.
import assert from 'node:assert/strict'
import type http from 'node:http'
import {describe, it} from 'node:test'

import {MAX_STREAM_WINDOW, OPEN_CREDIT} from '../../src/tunnel/protocol.js'
import {BufferBudget} from '../../src/tunnel/relay/buffer-budget.js'
import {HandshakeLimiter} from '../../src/tunnel/relay/handshake-limiter.js'
import {TrustedProxies, handshakeSource, sourceKey} from '../../src/tunnel/relay/handshake-source.js'

function request(peer: string, forwardedFor?: string | string[]): http.IncomingMessage {
  return {socket: {remoteAddress: peer}, headers: forwardedFor === undefined ? {} : {'x-forwarded-for': forwardedFor}} as unknown as http.IncomingMessage
}

describe('failed handshakes per source', () => {
  it('blocks a source after `limit` failures in the window, and only that source', () => {
    const limiter = new HandshakeLimiter({limit: 3, windowMs: 1000, capacity: 16})
    assert.equal(limiter.fail('10.9.9.9', 1000), false)
    assert.equal(limiter.fail('10.9.9.9', 1001), false)
    assert.equal(limiter.fail('10.9.9.9', 1002), true, 'the third failure is the one that blocks')
    assert.equal(limiter.blocked('10.9.9.9', 1010), true)
    assert.equal(limiter.retryAfterS('10.9.9.9', 1010), 1)
    assert.equal(limiter.blocked('10.8.8.8', 1010), false, 'another source keeps its whole budget')
    assert.equal(limiter.blocked('10.9.9.9', 2001), false, 'the block ends when the failures age out')
  })

  it('remembers at most `capacity` sources, forgetting the least recent failure first', () => {
    const limiter = new HandshakeLimiter({limit: 2, windowMs: 60_000, capacity: 100})
    limiter.fail('victim-of-eviction', 0)
    limiter.fail('victim-of-eviction', 1)
    for (let i = 0; i < 10_000; i++) limiter.fail(`198.51.${i >> 8}.${i & 255}`, 2 + i)
    assert.equal(limiter.size, 100)
    assert.equal(limiter.blocked('victim-of-eviction', 20_000), false)
    assert.equal(limiter.blocked(`198.51.${9_999 >> 8}.${9_999 & 255}`, 20_000), false)
    limiter.fail(`198.51.${9_999 >> 8}.${9_999 & 255}`, 20_001)
    assert.equal(limiter.blocked(`198.51.${9_999 >> 8}.${9_999 & 255}`, 20_002), true, 'a recent source is still counted')
  })
})

describe('the source of a handshake', () => {
  const loopback = new TrustedProxies(['127.0.0.0/8', '::1/128'])

  it('behind a trusted proxy it is the entry the proxy appended, never one the client wrote', () => {
    assert.equal(handshakeSource(request('127.0.0.1', '127.0.0.2'), loopback), '127.0.0.2')
    assert.equal(handshakeSource(request('::ffff:127.0.0.1', '6.6.6.6, 203.0.113.7'), loopback), '203.0.113.7')
    assert.equal(handshakeSource(request('::1', ['6.6.6.6', '[2001:db8::1]:4711']), loopback), '2001:db8::1')
    assert.equal(handshakeSource(request('127.0.0.1'), loopback), '127.0.0.1', 'no header: the peer')
    assert.equal(handshakeSource(request('127.0.0.1', 'not-an-address'), loopback), '127.0.0.1')
  })

  it('from a peer it does not trust, X-Forwarded-For is ignored', () => {
    assert.equal(handshakeSource(request('203.0.113.9', '127.0.0.1'), loopback), '203.0.113.9')
    assert.equal(handshakeSource(request('::ffff:198.51.100.4', '10.0.0.1'), loopback), '198.51.100.4')
  })

  it('counts an IPv6 source by its /64 and an IPv4 source by its address', () => {
    assert.equal(sourceKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64')
    assert.equal(sourceKey('2001:db8:1:2:bbbb:cccc:dddd:eeee'), '2001:db8:1:2::/64')
    assert.equal(sourceKey('2001:db8::1'), '2001:db8:0:0::/64')
    assert.equal(sourceKey('::1'), '0:0:0:0::/64')
    assert.equal(sourceKey('203.0.113.7'), '203.0.113.7')
  })
})

describe('the relay buffer budget', () => {
  it('reserves each stream\'s window, refuses what does not fit, and takes it back when the stream ends', () => {
    const budget = new BufferBudget(64 * OPEN_CREDIT)
    const held = Array.from({length: 32}, () => budget.admit(OPEN_CREDIT))
    assert.ok(held.every(Boolean), 'half the budget holds 32 first windows')
    assert.equal(budget.admit(OPEN_CREDIT), undefined, 'the 33rd does not fit')
    held[0]?.release()
    held[0]?.release() // twice is once
    assert.ok(budget.admit(OPEN_CREDIT))
    assert.equal(budget.reserved, 32 * OPEN_CREDIT)
  })

  it('lets windows double up to the largest window while the growth half lasts, never beyond the capacity', () => {
    const budget = new BufferBudget(4 * MAX_STREAM_WINDOW)
    const a = budget.admit(OPEN_CREDIT)
    const b = budget.admit(OPEN_CREDIT)
    let windowA = OPEN_CREDIT
    for (let i = 0; i < 20; i++) windowA += a?.grow(windowA) ?? 0
    assert.equal(windowA, MAX_STREAM_WINDOW, 'a busy stream reaches the largest window')
    let windowB = OPEN_CREDIT
    for (let i = 0; i < 20; i++) windowB += b?.grow(windowB) ?? 0
    assert.equal(windowB, MAX_STREAM_WINDOW)
    assert.equal(budget.growthLeft, 2 * MAX_STREAM_WINDOW - 2 * (MAX_STREAM_WINDOW - OPEN_CREDIT))
    const c = budget.admit(OPEN_CREDIT)
    let windowC = OPEN_CREDIT
    for (let i = 0; i < 20; i++) windowC += c?.grow(windowC) ?? 0
    assert.equal(windowC, OPEN_CREDIT + 2 * OPEN_CREDIT, 'only what is left of the growth half')
    assert.ok(budget.reserved <= budget.capacity)
    a?.release()
    assert.equal(budget.growthLeft, MAX_STREAM_WINDOW - OPEN_CREDIT)
  })

  it('a v1 window larger than OPEN_CREDIT is reserved from both halves', () => {
    const budget = new BufferBudget(8 * 1024 * 1024)
    const admitted = Array.from({length: 24}, () => budget.admit(MAX_STREAM_WINDOW)).filter(Boolean)
    assert.equal(admitted.length, 4, '4 MiB of growth holds four 1 MiB windows')
    assert.ok(budget.reserved <= budget.capacity)
  })
})
