// Autoscale requests read and checked with the API's rules (reference §2.7, the OpenAPI's
// autoscale_config and autoscale_policy): malformed fields are a 400; sizes outside the account's
// limits are per-item code 29 (AutoscaleSizeOOR); a master that cannot be one is code 25
// (AutoscaleInstance).
import {ErrorCode} from '../../api/types.js'
import type {AutoscaleRecord, AutoscaleStepPolicy, InstanceRecord, ServiceRecord} from '../types.js'
import {ItemFailure, invalid} from './failures.js'
import {type Json, intInRange, isObject, oneOf, onlyKnown} from './fields.js'
import {validName} from './names.js'
import {LIMITS} from './quotas.js'
import type {RefEntry} from './refs.js'

/** kraft's and the docs' limit: a step policy has 1 to 4 steps. */
export const MAX_STEPS = 4
const MAX_TIME_MS = 2_147_483_647
const METRICS = ['cpu', 'inflight_reqs'] as const
const ADJUSTMENTS = ['change', 'exact', 'percent'] as const

export interface AutoscaleRequest {
  service: RefEntry
  master: RefEntry
  min_size?: number
  max_size?: number
  warmup_time_ms: number
  cooldown_time_ms: number
  policies: AutoscaleStepPolicy[]
}

function ref(value: unknown, field: string): RefEntry {
  if (!isObject(value)) throw invalid(`Value of '${field}' must be an object with the uuid or the name of an instance`)
  onlyKnown(value, ['uuid', 'name'], `${field}.`)
  return {body: value, uuid: typeof value.uuid === 'string' ? value.uuid : undefined, name: typeof value.name === 'string' ? value.name : undefined}
}

function size(body: Json, field: string): number | undefined {
  const value = body[field]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'number' || !Number.isInteger(value)) throw invalid(`Value of '${field}' must be an integer`)
  return value
}

/** One item of POST /services/autoscale (the SDK's object; the array form holds several). */
export function readAutoscaleRequest(body: unknown): AutoscaleRequest {
  if (!isObject(body)) throw invalid('Malformed request: expected a JSON object')
  onlyKnown(body, ['uuid', 'name', 'min_size', 'max_size', 'warmup_time_ms', 'cooldown_time_ms', 'master', 'template', 'create_args', 'policies'])
  if (body.template !== undefined || body.create_args !== undefined) throw invalid('Autoscale templates and create_args are not supported by the local platform: name a master instance')
  if (body.uuid !== undefined && body.name !== undefined) throw invalid("Only one of 'uuid' or 'name' may be given")
  if (typeof body.uuid !== 'string' && typeof body.name !== 'string') throw invalid("Value of 'uuid' or 'name' (the service) is required")
  if (body.master === undefined) throw invalid("Value of 'master' is required")
  const policies = body.policies === undefined || body.policies === null ? [] : body.policies
  if (!Array.isArray(policies)) throw invalid("Value of 'policies' must be an array")
  const read = policies.map(readPolicy)
  const names = new Set(read.map((p) => p.name))
  if (names.size < read.length) throw invalid('Policy names must be unique')
  return {
    service: {body, uuid: body.uuid as string | undefined, name: body.name as string | undefined},
    master: ref(body.master, 'master'),
    min_size: size(body, 'min_size'),
    max_size: size(body, 'max_size'),
    warmup_time_ms: intInRange(body, 'warmup_time_ms', 1, MAX_TIME_MS, 1000),
    cooldown_time_ms: intInRange(body, 'cooldown_time_ms', 1, MAX_TIME_MS, 1000),
    policies: read,
  }
}

function bound(step: Json, field: string, index: number): number | undefined {
  const value = step[field]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'number' || !Number.isInteger(value)) throw invalid(`Value of '${field}' of step ${index + 1} must be an integer`)
  return value
}

/** A step policy; steps come back ordered by their lower bound, and must be contiguous. */
export function readPolicy(value: unknown): AutoscaleStepPolicy {
  if (!isObject(value)) throw invalid('Malformed request: a policy is an object')
  onlyKnown(value, ['name', 'type', 'metric', 'adjustment_type', 'steps'])
  if (value.name === undefined) throw invalid("Value of 'name' (the policy) is required")
  const name = validName(value.name)
  const type = value.type ?? 'step'
  if (type !== 'step') throw invalid(`Policy type '${String(type)}' is not supported by the local platform (only 'step')`)
  const metric = oneOf(value, 'metric', METRICS, 'cpu')
  const adjustment_type = oneOf(value, 'adjustment_type', ADJUSTMENTS, 'change')
  if (!Array.isArray(value.steps) || value.steps.length === 0 || value.steps.length > MAX_STEPS) {
    throw invalid(`Value of 'steps' must be an array of 1 to ${MAX_STEPS} steps`)
  }
  const steps = value.steps.map((step: unknown, index: number) => {
    if (!isObject(step)) throw invalid(`Step ${index + 1} must be an object`)
    onlyKnown(step, ['lower_bound', 'upper_bound', 'adjustment'], 'steps.')
    if (typeof step.adjustment !== 'number' || !Number.isInteger(step.adjustment)) throw invalid(`Value of 'adjustment' of step ${index + 1} is required (an integer)`)
    const lower = bound(step, 'lower_bound', index)
    const upper = bound(step, 'upper_bound', index)
    if (lower !== undefined && upper !== undefined && lower >= upper) throw invalid(`Step ${index + 1}: 'lower_bound' (${lower}) must be less than 'upper_bound' (${upper})`)
    return {...(lower === undefined ? {} : {lower_bound: lower}), ...(upper === undefined ? {} : {upper_bound: upper}), adjustment: step.adjustment}
  })
  steps.sort((a, b) => (a.lower_bound ?? -Infinity) - (b.lower_bound ?? -Infinity))
  steps.forEach((step, i) => {
    if (step.lower_bound === undefined && i > 0) throw invalid("Only the first step may omit 'lower_bound'")
    if (step.upper_bound === undefined && i < steps.length - 1) throw invalid("Only the last step may omit 'upper_bound'")
  })
  steps.forEach((step, i) => {
    const next = steps[i + 1]
    if (next && step.upper_bound !== next.lower_bound) throw invalid(`Steps must be contiguous: one ends at ${step.upper_bound} and the next starts at ${next.lower_bound}`)
  })
  return {name, type: 'step', metric, adjustment_type, steps}
}

/** The configuration to store, or the per-item failure the real API answers with. */
export function autoscaleRecord(service: ServiceRecord, master: InstanceRecord, request: AutoscaleRequest): AutoscaleRecord {
  if (service.autoscale) throw new ItemFailure(ErrorCode.AutoscaleConfigured, `Autoscale is already configured for service '${service.name}'`)
  if (master.service_uuid !== service.uuid) throw new ItemFailure(ErrorCode.AutoscaleInstance, `Instance '${master.name}' is not attached to service '${service.name}'`)
  if (master.clone_of !== undefined) throw new ItemFailure(ErrorCode.AutoscaleInstance, `Instance '${master.name}' was created by autoscale and cannot be a master`)
  // A volume is attached to one instance at a time: clones could not have the master's (clone.ts).
  if (master.volumes.length > 0) throw new ItemFailure(ErrorCode.AutoscaleInstance, `Instance '${master.name}' has volumes, which autoscale clones cannot share; use a master without volumes`)
  const min = request.min_size ?? LIMITS.min_autoscale_size
  const max = request.max_size ?? Math.max(min, Math.min(4, LIMITS.max_autoscale_size))
  if (min < LIMITS.min_autoscale_size || max > LIMITS.max_autoscale_size || min > max) {
    throw new ItemFailure(
      ErrorCode.AutoscaleSizeOOR,
      `Autoscale size out of range: min_size ${min} and max_size ${max} must satisfy ${LIMITS.min_autoscale_size} ≤ min_size ≤ max_size ≤ ${LIMITS.max_autoscale_size}`,
    )
  }
  return {master: master.uuid, min_size: min, max_size: max, warmup_time_ms: request.warmup_time_ms, cooldown_time_ms: request.cooldown_time_ms, policies: request.policies}
}
