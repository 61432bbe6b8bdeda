// Scale-to-zero: standby after the cooldown, wake on a connection that is held (not dropped).
import assert from 'node:assert/strict'
import fs from 'node:fs'
import net from 'node:net'
import {after, before, describe, it} from 'node:test'

import {StopReason} from '../../src/platform/runtime/index.js'
import {StandbyWatch} from '../../src/platform/scaler/index.js'
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

  before(() => {
    fixture = new RuntimeFixture()
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

  it('policy on: no standby while a connection is open', async () => {
    let idle = 0
    const watch = new StandbyWatch({policy: 'on', cooldown_time_ms: 20}, () => (idle += 1))
    watch.arm()
    watch.opened()
    // Absence of an event: give it several cooldowns to (wrongly) happen.
    await new Promise((resolve) => setTimeout(resolve, 60))
    assert.equal(idle, 0)
    watch.closed()
    await fixture.until('standby after the last close', () => idle === 1, 2_000)
    watch.disarm()
  })
})
