import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {Balancer, GatewayRefusal} from '../../src/platform/gateway/balancer.js'
import type {BackendAddress, ConnectionTracker, GatewayRoute, InstanceState} from '../../src/platform/types.js'

class CountingTracker implements ConnectionTracker {
  readonly opens: string[] = []
  readonly closes: string[] = []
  refuse = new Set<string>()
  async open(uuid: string): Promise<BackendAddress> {
    this.opens.push(uuid)
    if (this.refuse.has(uuid)) throw new Error(`${uuid} did not start`)
    return {host: '127.0.0.1', port: 1}
  }
  activity(): void {}
  close(uuid: string): void {
    this.closes.push(uuid)
  }
}

function route(states: InstanceState[], softLimit = 1, hardLimit = 65_535): GatewayRoute {
  return {serviceUuid: 's', services: [], softLimit, hardLimit, instances: states.map((state, i) => ({uuid: `i${i}`, state}))}
}

describe('Balancer', () => {
  it('never picks stopped, stopping or draining instances', async () => {
    const balancer = new Balancer(new CountingTracker())
    const r = route(['stopped', 'draining', 'stopping', 'running'])
    for (let i = 0; i < 5; i++) assert.equal(balancer.pick(r), 'i3')
    await assert.rejects(balancer.acquire(route(['stopped', 'draining']), 80), (e: unknown) => e instanceof GatewayRefusal && e.reason === 'no-service')
  })

  it('keeps in-flight counts: least loaded first, released leases free their slot and close on the tracker', async () => {
    const tracker = new CountingTracker()
    const balancer = new Balancer(tracker)
    const r = route(['running', 'running'], 10)
    const a = await balancer.acquire(r, 80)
    const b = await balancer.acquire(r, 80)
    assert.notEqual(a.uuid, b.uuid)
    const c = await balancer.acquire(r, 80)
    b.release()
    b.release()
    assert.equal(balancer.load(b.uuid), 0, 'a double release counts once')
    assert.equal((await balancer.acquire(r, 80)).uuid, b.uuid)
    assert.equal(balancer.load(c.uuid), 2)
    assert.deepEqual(tracker.closes, [b.uuid])
  })

  it('tries another instance when the tracker refuses one, and reports unavailable when all refuse', async () => {
    const tracker = new CountingTracker()
    const balancer = new Balancer(tracker)
    tracker.refuse.add('i0')
    const r = route(['running', 'running'])
    for (let i = 0; i < 3; i++) {
      const lease = await balancer.acquire(r, 80)
      assert.equal(lease.uuid, 'i1')
      lease.release()
    }
    tracker.refuse.add('i1')
    await assert.rejects(balancer.acquire(r, 80), (e: unknown) => e instanceof GatewayRefusal && e.reason === 'unavailable')
    assert.equal(balancer.load('i0') + balancer.load('i1'), 0)
    assert.ok(!tracker.closes.includes('i0'), 'a refused open is not closed')
  })

  it('wakes standby instances one at a time as running ones reach the soft limit, and stops at the hard limit', async () => {
    const balancer = new Balancer(new CountingTracker())
    const r = route(['standby', 'running', 'standby'], 1, 2)
    const picks = []
    for (let i = 0; i < 6; i++) picks.push((await balancer.acquire(r, 80)).uuid)
    assert.equal(picks[0], 'i1', 'the running instance first')
    assert.deepEqual(new Set(picks.slice(1, 3)), new Set(['i0', 'i2']), 'then each standby instance')
    assert.deepEqual([...picks].sort(), ['i0', 'i0', 'i1', 'i1', 'i2', 'i2'])
    await assert.rejects(balancer.acquire(r, 80), (e: unknown) => e instanceof GatewayRefusal && e.reason === 'hard-limit')
  })
})
