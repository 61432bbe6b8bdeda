import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {cpuShare, formatDurationMs} from '../../src/cli/metrics-view.js'

describe('metrics view', () => {
  it('prints CPU time as Go durations, as kraft does', () => {
    assert.equal(formatDurationMs(0), '0s')
    assert.equal(formatDurationMs(230), '230ms')
    assert.equal(formatDurationMs(1500), '1.5s')
    assert.equal(formatDurationMs(62_500), '1m2.5s')
    assert.equal(formatDurationMs(3_723_000), '1h2m3s')
    assert.equal(formatDurationMs(3_600_000), '1h0m0s')
  })

  it('computes the CPU share over the instance\'s own running time, else the wall clock', () => {
    const at = (cpu: number, uptime?: number) => ({uuid: 'u', name: 'n', cpu_time_ms: cpu, uptime_ms: uptime})
    assert.equal(cpuShare(undefined, at(100, 1000), 0), undefined)
    assert.equal(cpuShare(at(100, 1000), at(600, 3000), 5000), 25)
    assert.equal(cpuShare(at(100), at(600), 1000), 50)
    assert.equal(cpuShare(at(100, 1000), at(100, 1000), 2000), 0, 'stood by: no running time, no CPU')
    assert.equal(cpuShare(at(900, 9000), at(10, 100), 2000), undefined, 'restarted in between')
  })
})
