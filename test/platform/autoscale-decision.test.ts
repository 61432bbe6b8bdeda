// The autoscaler's arithmetic: steps, adjustment types, several policies, bounds, warm-up, cool-down.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {type GroupView, desiredSize, policyTarget, stepFor} from '../../src/platform/autoscale/index.js'
import type {AutoscaleStepPolicy} from '../../src/platform/types.js'

const busy: AutoscaleStepPolicy = {
  name: 'busy',
  type: 'step',
  metric: 'cpu',
  adjustment_type: 'change',
  steps: [{upper_bound: 200, adjustment: -1}, {lower_bound: 200, upper_bound: 600, adjustment: 0}, {lower_bound: 600, adjustment: 2}],
}
const group = (overrides: Partial<GroupView> = {}): GroupView => ({size: 3, min: 1, max: 10, warming: false, cooledDown: true, ...overrides})

describe('autoscale decisions', () => {
  it('finds the step whose range holds the metric (lower bound in, upper bound out, open ends)', () => {
    assert.equal(stepFor(busy, -1_000_000)?.adjustment, -1)
    assert.equal(stepFor(busy, 199)?.adjustment, -1)
    assert.equal(stepFor(busy, 200)?.adjustment, 0)
    assert.equal(stepFor(busy, 600)?.adjustment, 2)
    const gap: AutoscaleStepPolicy = {...busy, steps: [{lower_bound: 10, upper_bound: 20, adjustment: 1}]}
    assert.equal(stepFor(gap, 5), undefined)
    assert.equal(policyTarget(gap, {cpu: 5}, 3), undefined, 'no step: the policy has nothing to say')
  })

  it('applies change, exact and percent adjustments to the current size', () => {
    assert.equal(policyTarget(busy, {cpu: 700}, 3), 5)
    assert.equal(policyTarget(busy, {cpu: 100}, 3), 2)
    assert.equal(policyTarget({...busy, adjustment_type: 'exact'}, {cpu: 700}, 3), 2)
    const percent = {...busy, adjustment_type: 'percent' as const, steps: [{upper_bound: 100, adjustment: -50}, {lower_bound: 100, adjustment: 10}]}
    assert.equal(policyTarget(percent, {cpu: 500}, 4), 5, '10% of 4 rounds to 0, but a non-zero adjustment moves at least one')
    assert.equal(policyTarget(percent, {cpu: 500}, 20), 22)
    assert.equal(policyTarget(percent, {cpu: 50}, 5), 3, '-50% of 5 is -2.5, towards zero: -2')
    assert.equal(policyTarget(busy, {inflight_reqs: 700}, 3), undefined, 'a metric that was not measured says nothing')
  })

  it('takes the largest proposal of several policies and stays within min and max', () => {
    const reqs: AutoscaleStepPolicy = {name: 'reqs', type: 'step', metric: 'inflight_reqs', adjustment_type: 'exact', steps: [{lower_bound: 0, adjustment: 1}]}
    assert.equal(desiredSize([busy, reqs], {cpu: 700, inflight_reqs: 0}, group()), 5)
    assert.equal(desiredSize([busy, reqs], {cpu: 100, inflight_reqs: 0}, group()), 2, 'both scale in: the milder wins')
    assert.equal(desiredSize([busy], {cpu: 700}, group({size: 9})), 10)
    assert.equal(desiredSize([busy], {cpu: 0}, group({size: 1})), 1)
    assert.equal(desiredSize([], {}, group({size: 3})), 3, 'no policy: the size stays')
  })

  it('brings a group outside its bounds back at once, whatever the phases', () => {
    assert.equal(desiredSize([], {}, group({size: 1, min: 3, warming: true})), 3)
    assert.equal(desiredSize([busy], {cpu: 700}, group({size: 12, max: 10, cooledDown: false})), 10)
  })

  it('waits for warming instances before scaling out again, and for the cool-down before scaling in', () => {
    assert.equal(desiredSize([busy], {cpu: 700}, group({warming: true})), 3)
    assert.equal(desiredSize([busy], {cpu: 700}, group({cooledDown: false})), 5, 'the cool-down holds back scale-in only')
    assert.equal(desiredSize([busy], {cpu: 100}, group({cooledDown: false})), 3)
    assert.equal(desiredSize([busy], {cpu: 100}, group({warming: true})), 2, 'warming holds back scale-out only')
  })
})
