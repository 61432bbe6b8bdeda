// Scale-to-zero: with real instances, standby after the cooldown and wake on a connection that is
// held (not dropped); and the watch's decisions alone, on a manual clock (no waiting on real time).
import assert from 'node:assert/strict'
import fs from 'node:fs'
import net from 'node:net'
import {after, before, describe, it} from 'node:test'

import {StopReason} from '../../src/platform/runtime/index.js'
import {FORWARDED_POLL_MS, StandbyWatch, type ForwardedReading, type WatchClock} from '../../src/platform/scaler/index.js'
import type {ScaleToZero} from '../../src/platform/types.js'
import type {UserRecord} from '../../src/platform/types.js'
import {httpGet, RuntimeFixture} from './runtime-fixture.js'

/** The kernel's one-letter process state (R, S, T = stopped, ...). */
function processState(pid: number): string {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
}

describe('scale-to-zero', () => {
  let fixture: RuntimeFixture
  let carol: UserRecord

  before(async () => {
    fixture = await RuntimeFixture.create()
    carol = fixture.user('carol', 14)
  })
  after(() => fixture.close())

  it('stateful: freezes the process after the cooldown and resumes it for a held connection', async () => {
    const record = fixture.instance(carol, 'hello', {scale_to_zero: {policy: 'on', stateful: true, cooldown_time_ms: 150}})
    await fixture.runtime.start(record.uuid)
    const pid = fixture.get(record.uuid).pid as number
    assert.equal(await fixture.runtime.waitFor(record.uuid, 'standby', 5_000), 'standby')
    assert.equal(fixture.get(record.uuid).stop_reason, StopReason.standby)
    await fixture.until('the process to be frozen (stopped), not gone', () => processState(pid) === 'T')

    const answer = await httpGet(record.private_ip, 8080)
    assert.equal(answer.body, `Hello from ${record.name}\n`)
    assert.equal(fixture.get(record.uuid).state, 'running')
    assert.equal(fixture.get(record.uuid).pid, pid, 'same process: memory kept')
    assert.equal(fixture.get(record.uuid).start_count, 1)
    // Back to standby once the connection is gone.
    assert.equal(await fixture.runtime.waitFor(record.uuid, 'standby', 5_000), 'standby')
    await fixture.runtime.stop(record.uuid, {force: false, drainTimeoutMs: 0, reason: 'user'})
    assert.equal(fixture.get(record.uuid).state, 'stopped')
    assert.equal(fixture.get(record.uuid).stop_reason, StopReason.userStop, 'a frozen instance stops gracefully')
  })

  it('stateless: stops the process after the cooldown and boots it again for a held connection', async () => {
    const record = fixture.instance(carol, 'hello', {scale_to_zero: {policy: 'on', stateful: false, cooldown_time_ms: 150}})
    await fixture.runtime.start(record.uuid)
    assert.equal(await fixture.runtime.waitFor(record.uuid, 'standby', 5_000), 'standby')
    await fixture.until('the process to be gone', () => fixture.get(record.uuid).pid === undefined)
    assert.equal(fixture.get(record.uuid).stop_reason, StopReason.standby)

    const answer = await httpGet(record.private_ip, 8080)
    assert.equal(answer.body, `Hello from ${record.name}\n`)
    assert.equal(fixture.get(record.uuid).start_count, 2, 'booted again')
    assert.ok(fixture.stopped.every((uuid) => uuid !== record.uuid), 'standby is not a stop')

    // A stateless standby instance has no process: a stop just records it.
    assert.equal(await fixture.runtime.waitFor(record.uuid, 'standby', 5_000), 'standby')
    await fixture.until('the process to be gone', () => fixture.get(record.uuid).pid === undefined)
    await fixture.runtime.stop(record.uuid, {force: false, drainTimeoutMs: 0, reason: 'user'})
    assert.equal(fixture.get(record.uuid).state, 'stopped')
    assert.equal(fixture.get(record.uuid).stop_reason, StopReason.userStop)
    assert.ok(fixture.stopped.includes(record.uuid))
    await assert.rejects(fixture.runtime.open(record.uuid, 8080, 'private'), /not running/)
  })

  it('idle: goes to standby while a connection stays open but silent, and bytes wake it', async () => {
    const record = fixture.instance(carol, 'echo', {scale_to_zero: {policy: 'idle', stateful: true, cooldown_time_ms: 150}})
    await fixture.runtime.start(record.uuid)
    const socket = net.connect({host: record.private_ip, port: 9000})
    await new Promise((resolve) => socket.once('connect', resolve))
    assert.equal(await fixture.runtime.waitFor(record.uuid, 'standby', 5_000), 'standby')
    assert.equal(fixture.runtime.connections(record.uuid), 1, 'the connection stayed established')
    const echoed = new Promise<string>((resolve) => socket.once('data', (chunk: Buffer) => resolve(chunk.toString())))
    socket.write('wake up')
    assert.equal(await echoed, 'wake up')
    assert.equal(fixture.get(record.uuid).state, 'running')
    socket.destroy()
    await fixture.runtime.stop(record.uuid, {force: true, drainTimeoutMs: 0, reason: 'user'})
  })
})

/** A clock that moves only when told to; runs the timers that fall due, in order. */
class ManualClock implements WatchClock {
  fired = 0
  private time = 0
  private timers: Array<{at: number; fire: () => void; cancelled: boolean}> = []

  now(): number {
    return this.time
  }

  schedule(fire: () => void, ms: number): () => void {
    const timer = {at: this.time + ms, fire, cancelled: false}
    this.timers.push(timer)
    return () => {
      timer.cancelled = true
    }
  }

  get pending(): number {
    return this.timers.filter((timer) => !timer.cancelled).length
  }

  advance(ms: number): void {
    const end = this.time + ms
    for (;;) {
      const due = this.timers.filter((timer) => !timer.cancelled && timer.at <= end).sort((a, b) => a.at - b.at)[0]
      if (!due) break
      this.timers.splice(this.timers.indexOf(due), 1)
      this.time = due.at
      this.fired += 1
      due.fire()
    }
    this.time = end
  }
}

describe('standby watch (manual clock)', () => {
  const COOLDOWN = 1000

  function watch(policy: ScaleToZero['policy']): {watch: StandbyWatch; clock: ManualClock; idle: () => number; open: () => void; close: () => void} {
    const clock = new ManualClock()
    let connections = 0
    let idle = 0
    const standby = new StandbyWatch({policy: {policy, cooldown_time_ms: COOLDOWN}, connections: () => connections, onIdle: () => (idle += 1), clock})
    return {
      watch: standby,
      clock,
      idle: () => idle,
      open: () => {
        connections += 1
        standby.opened()
      },
      close: () => {
        connections -= 1
        standby.closed()
      },
    }
  }

  it('policy on: no standby while a connection is open, however long and however many come and go', () => {
    const {watch: standby, clock, idle, open, close} = watch('on')
    standby.arm()
    open()
    clock.advance(10 * COOLDOWN)
    assert.ok(clock.fired >= 1, "the cooldown's own timer fired")
    assert.equal(idle(), 0, 'and found the connection')
    for (let i = 0; i < 5; i++) {
      open()
      clock.advance(COOLDOWN / 2)
      close()
      clock.advance(2 * COOLDOWN)
    }
    assert.equal(idle(), 0, 'still running: the first connection is open')
    close()
    clock.advance(COOLDOWN - 1)
    assert.equal(idle(), 0, 'the cooldown counts from the last close')
    clock.advance(1)
    assert.equal(idle(), 1, 'standby once the cooldown passed without a connection')
    clock.advance(10 * COOLDOWN)
    assert.equal(idle(), 1, 'once per arm')
    assert.equal(clock.pending, 0)
  })

  it('policy idle: standby with a silent connection open; bytes push it back', () => {
    const {watch: standby, clock, idle, open} = watch('idle')
    standby.arm()
    open()
    clock.advance(COOLDOWN / 2)
    standby.activity()
    clock.advance(COOLDOWN - 1)
    assert.equal(idle(), 0, 'bytes moved less than a cooldown ago')
    clock.advance(1)
    assert.equal(idle(), 1, 'silent for the cooldown: standby although the connection is open')
  })

  it('policy on with kernel-forwarded connections: busy while one is open or new ones came, standby after the cooldown', async () => {
    const clock = new ManualClock()
    let kernel: ForwardedReading = {open: 0, total: 0}
    let idle = 0
    const standby = new StandbyWatch({policy: {policy: 'on', cooldown_time_ms: COOLDOWN}, connections: () => 0, onIdle: () => (idle += 1), forwarded: async () => kernel, clock})
    // The kernel is read asynchronously: let each reading settle before time moves on.
    const advance = async (ms: number): Promise<void> => {
      for (let passed = 0; passed < ms; passed += 10) {
        clock.advance(10)
        await new Promise(setImmediate)
      }
    }
    standby.arm()
    kernel = {open: 1, total: 1}
    await advance(10 * COOLDOWN)
    assert.equal(idle, 0, 'a forwarded connection is open')
    kernel = {open: 0, total: 1}
    await advance(COOLDOWN + FORWARDED_POLL_MS)
    assert.equal(idle, 1, 'standby after the cooldown once it closed')

    standby.arm()
    kernel = {open: 0, total: 0}
    for (let i = 0; i < 10; i++) {
      await advance(COOLDOWN / 2)
      kernel = {open: 0, total: kernel.total + 1} // a short connection came and went between two looks
    }
    assert.equal(idle, 1, 'new forwarded connections keep it running')
    await advance(COOLDOWN + FORWARDED_POLL_MS)
    assert.equal(idle, 2, 'standby once none came for the cooldown')
  })

  it('policy off never goes to standby; a disarmed watch decides nothing', () => {
    const off = watch('off')
    off.watch.arm()
    off.clock.advance(100 * COOLDOWN)
    assert.equal(off.idle(), 0)
    assert.equal(off.clock.pending, 0, 'no timer at all')

    const on = watch('on')
    on.watch.arm()
    on.watch.disarm()
    on.clock.advance(100 * COOLDOWN)
    assert.equal(on.idle(), 0)
    on.watch.arm()
    on.clock.advance(COOLDOWN)
    assert.equal(on.idle(), 1, 'armed again: counts from the arm')
  })
})
