// The autoscaler's arithmetic, without clocks or instances: which step of a policy the metric is in,
// what size that step asks for, and what size the group should have given every policy, its bounds
// and the warm-up and cool-down phases. The autoscaler (autoscaler.ts) feeds it measurements.
import type {AutoscaleStepPolicy} from '../types.js'

export type MetricName = AutoscaleStepPolicy['metric']

/** A metric's value this tick; absent when nothing could be measured (no warmed-up running instance). */
export type MetricValues = Partial<Record<MetricName, number>>

/** The step whose range holds `value`: lower bound inclusive, upper bound exclusive, a missing bound open. */
export function stepFor(policy: AutoscaleStepPolicy, value: number): AutoscaleStepPolicy['steps'][number] | undefined {
  return policy.steps.find((step) => (step.lower_bound ?? -Infinity) <= value && value < (step.upper_bound ?? Infinity))
}

/**
 * The size one policy asks for: `change` adds the adjustment, `exact` is the adjustment, `percent`
 * adds that share of the current size, rounded towards zero but at least one instance when the
 * adjustment is not 0. Undefined when the policy has nothing to say (no value, no matching step).
 */
export function policyTarget(policy: AutoscaleStepPolicy, values: MetricValues, size: number): number | undefined {
  const value = values[policy.metric]
  if (value === undefined) return undefined
  const step = stepFor(policy, value)
  if (!step) return undefined
  switch (policy.adjustment_type) {
    case 'change':
      return size + step.adjustment
    case 'exact':
      return step.adjustment
    case 'percent': {
      if (step.adjustment === 0) return size
      const delta = Math.trunc((size * step.adjustment) / 100)
      return size + (delta === 0 ? Math.sign(step.adjustment) : delta)
    }
  }
}

export interface GroupView {
  /** Master plus clones not being removed. */
  size: number
  min: number
  max: number
  /** A new instance is still warming up: no further scale-out until it counts. */
  warming: boolean
  /** The cool-down since the last scaling is over: scale-in is allowed. */
  cooledDown: boolean
}

/**
 * The size the group should have now. Every policy with something to say proposes a size and the
 * largest proposal wins (scaling out beats scaling in, as with several step policies elsewhere);
 * the result stays within min and max. Outside its bounds the group is brought back at once; inside
 * them, scale-out waits for warming instances and scale-in for the cool-down.
 */
export function desiredSize(policies: AutoscaleStepPolicy[], values: MetricValues, group: GroupView): number {
  const clamp = (n: number): number => Math.min(group.max, Math.max(group.min, n))
  if (group.size < group.min || group.size > group.max) return clamp(group.size)
  const proposals = policies.map((p) => policyTarget(p, values, group.size)).filter((n): n is number => n !== undefined)
  if (proposals.length === 0) return group.size
  const target = clamp(Math.max(...proposals))
  if (target > group.size && group.warming) return group.size
  if (target < group.size && !group.cooledDown) return group.size
  return target
}
