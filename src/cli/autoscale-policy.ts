// `ukc scale add` flags → an API step policy, with kraft's rules and messages: `--step LOWER:UPPER/ADJ`
// (one bound may be left out: `:10/1`, `80:/2`), 1 to 4 steps, sorted by lower bound and contiguous;
// `--adjustment change|absolute|percent` (kraft's words) → `adjustment_type` change|exact|percent
// (the API's, reference §2.7).
import {type AutoscaleAdjustment, type AutoscaleMetric, type AutoscaleStep, type AutoscaleStepPolicy, UsageError} from '../api/index.js'

/** kraft's --adjustment values and the API value each one means. */
export const ADJUSTMENTS: Readonly<Record<string, AutoscaleAdjustment>> = {change: 'change', absolute: 'exact', percent: 'percent'}
export const METRICS: readonly AutoscaleMetric[] = ['cpu', 'inflight_reqs']

const STEP = /^(-?\d+)?:(-?\d+)?\/(-?\d+)$/

/** One `LOWER:UPPER/ADJUSTMENT` value. */
export function parseStep(value: string): AutoscaleStep {
  const match = STEP.exec(value.trim())
  if (!match || (match[1] === undefined && match[2] === undefined)) {
    throw new UsageError(`could not parse step '${value}': expected format 'LOWER_BOUND:UPPER_BOUND/ADJUSTMENT'`, 'e.g. --step 0:50/1 --step 50:/2')
  }
  const step: AutoscaleStep = {adjustment: Number(match[3])}
  if (match[1] !== undefined) step.lower_bound = Number(match[1])
  if (match[2] !== undefined) step.upper_bound = Number(match[2])
  if (step.lower_bound !== undefined && step.upper_bound !== undefined && step.lower_bound >= step.upper_bound) {
    throw new UsageError('lower bound cannot be greater or equal than upper bound', `in step '${value}'`)
  }
  return step
}

/** The steps sorted (an open lower bound first) and checked to cover one contiguous range. */
export function parseSteps(values: readonly string[]): AutoscaleStep[] {
  if (values.length < 1 || values.length > 4) throw new UsageError('specify between 1 and 4 steps', 'repeat --step LOWER:UPPER/ADJUSTMENT')
  const steps = values.map(parseStep).sort((a, b) => {
    if (a.lower_bound === undefined) return -1
    if (b.lower_bound === undefined) return 1
    return a.lower_bound - b.lower_bound
  })
  steps.forEach((step, i) => {
    if (i === 0) return
    const previous = steps[i - 1] as AutoscaleStep
    if (step.lower_bound === undefined) throw new UsageError('lower bound cannot be empty in a step after the first step')
    if (previous.upper_bound === undefined) throw new UsageError('upper bound cannot be empty in a step before the last step')
    if (previous.upper_bound !== step.lower_bound) {
      throw new UsageError(`steps are not contiguous, gap found between ${previous.upper_bound} and ${step.lower_bound}`)
    }
  })
  return steps
}

export function stepPolicy(input: {name: string; metric: string; adjustment: string; steps: readonly string[]}): AutoscaleStepPolicy {
  const adjustment = ADJUSTMENTS[input.adjustment]
  if (!adjustment) throw new UsageError(`unknown adjustment "${input.adjustment}"`, `use one of ${Object.keys(ADJUSTMENTS).join(', ')}`)
  return {name: input.name, type: 'step', metric: input.metric as AutoscaleMetric, adjustment_type: adjustment, steps: parseSteps(input.steps)}
}

/** `0:50/1`: a step as the user writes it (and as `scale get --policy` prints it). */
export function formatStep(step: AutoscaleStep): string {
  return `${step.lower_bound ?? ''}:${step.upper_bound ?? ''}/${step.adjustment}`
}
