// How autoscale looks on screen: kraft's configuration columns ([UUID,] NAME, ENABLED, MIN SIZE,
// MAX SIZE, WARMUP (MS), COOLDOWN (MS), MASTER, POLICIES — the sizes, times and master only when the
// API sent them, as kraft does) and, for `scale get --policy`, one row per policy.
import type {AutoscaleConfig, AutoscalePolicy} from '../api/index.js'
import {formatStep} from './autoscale-policy.js'
import {type Column, renderList, renderTable} from './render.js'

const str = (value: number | boolean | undefined): string => (value === undefined ? '' : String(value))

function master(config: AutoscaleConfig): string {
  const ref = config.master ?? config.template
  return ref?.uuid || ref?.name || ''
}

const UUID: Column<AutoscaleConfig> = {header: 'UUID', value: (c) => c.uuid ?? '', table: false}
const ALWAYS: Column<AutoscaleConfig>[] = [
  {header: 'NAME', value: (c) => c.name ?? ''},
  {header: 'ENABLED', value: (c) => (c.status === 'unconfigured' ? 'false' : str(c.enabled ?? false))},
]
const WHEN_SENT: Column<AutoscaleConfig>[] = [
  {header: 'MIN SIZE', value: (c) => str(c.min_size)},
  {header: 'MAX SIZE', value: (c) => str(c.max_size)},
  {header: 'WARMUP (MS)', value: (c) => str(c.warmup_time_ms)},
  {header: 'COOLDOWN (MS)', value: (c) => str(c.cooldown_time_ms)},
  {header: 'MASTER', value: master},
]
/** Policy names, `;`-joined as kraft prints them. */
const POLICIES: Column<AutoscaleConfig> = {header: 'POLICIES', value: (c) => (c.policies ?? []).map((p) => p.name).join(';')}

export function renderAutoscale(configs: AutoscaleConfig[], format: 'table' | 'list'): string {
  if (configs.length === 0) return ''
  const sent = WHEN_SENT.filter((column) => configs.some((c) => column.value(c) !== ''))
  const columns = [UUID, ...ALWAYS, ...sent, POLICIES]
  return format === 'table' ? renderTable(columns, configs) : renderList(columns, configs)
}

const POLICY_COLUMNS: Column<AutoscalePolicy>[] = [
  {header: 'NAME', value: (p) => p.name},
  {header: 'TYPE', value: (p) => p.type},
  {header: 'METRIC', value: (p) => (p.type === 'step' ? p.metric : '')},
  {header: 'ADJUSTMENT', value: (p) => (p.type === 'step' ? p.adjustment_type : '')},
  {header: 'STEPS', value: (p) => (p.type === 'step' ? p.steps.map(formatStep).join(', ') : '')},
]

export function renderPolicies(policies: AutoscalePolicy[], format: 'table' | 'list'): string {
  if (policies.length === 0) return ''
  return format === 'table' ? renderTable(POLICY_COLUMNS, policies) : renderList(POLICY_COLUMNS, policies)
}

/** What a delete answers per item: which service or policy it was. */
const REMOVED_COLUMNS: Column<{uuid?: string; name?: string}>[] = [
  {header: 'NAME', value: (i) => i.name ?? ''},
  {header: 'UUID', value: (i) => i.uuid ?? ''},
]

export function renderRemoved(items: Array<{uuid?: string; name?: string}>, format: 'table' | 'list'): string {
  if (items.length === 0) return ''
  const columns = REMOVED_COLUMNS.filter((c) => items.some((i) => c.value(i) !== ''))
  return format === 'table' ? renderTable(columns, items) : renderList(columns, items)
}

/** The names of the `scale` topic (kraft's aliases), for commandAliases. */
export const SCALE_TOPICS = ['scale', 'autoscale', 'scl'] as const
