// How instances look on screen: kraft's table and list columns, the STATE colours, the stop
// reason decoding and the "Deployed successfully!" summary of `instance create`.
import type {Instance, InstanceState, ServiceGroup} from '../api/index.js'
import {palette} from './colour.js'
import {type Column, formatAge, formatAgo, formatBytes, renderList, renderTable} from './render.js'


const STATE_COLOURS: Partial<Record<InstanceState, 'green' | 'cyan' | 'red' | 'yellow'>> = {
  running: 'green',
  starting: 'green',
  standby: 'cyan',
  stopped: 'red',
  draining: 'yellow',
  stopping: 'yellow',
}

/** A STATE cell in its colour (when colour is on). */
export function colourState(text: string, row: Instance): string {
  const colour = row.state ? STATE_COLOURS[row.state] : undefined
  return colour ? palette()[colour](text) : text
}

// stop_reason bits (docs): K kernel exited, A app exited, P platform, U user, F forced, Z scale-to-zero.
const STOP_BITS = {K: 1, A: 2, P: 4, U: 8, F: 16, Z: 32} as const

/** `-FUP--` style flags, most significant first (Z F U P A K). */
export function stopReasonFlags(reason: number): string {
  return (['Z', 'F', 'U', 'P', 'A', 'K'] as const).map((bit) => (reason & STOP_BITS[bit] ? bit : '-')).join('')
}

export function stopOrigin(reason: number | undefined): string {
  if (reason === undefined) return ''
  const who =
    reason & STOP_BITS.Z ? 'scale-to-zero' : reason & STOP_BITS.U ? 'initiated by user' : reason & STOP_BITS.P ? 'initiated by platform' : reason & STOP_BITS.A ? 'app exited' : reason & STOP_BITS.K ? 'kernel exited' : 'unknown'
  return `${who} (${stopReasonFlags(reason)})`
}

const STOP_CODE_REASONS = ['OK', 'EXP', 'MATH', 'INVLOP', 'PGFAULT', 'SEGFAULT', 'HWERR', 'SECERR']
const ERRNO_NAMES: Record<number, string> = {12: 'ENOMEM', 14: 'EFAULT', 22: 'EINVAL', 28: 'ENOSPC'}

/** A human reason: "out of memory (i127 PGFAULT ENOMEM)", "exited with code 1", "stopped by user". */
export function stopReasonText(instance: Instance): string {
  const reason = instance.stop_reason
  if (reason === undefined) return ''
  if (reason & STOP_BITS.Z) return 'scaled to zero'
  const code = instance.stop_code
  if (reason & STOP_BITS.K && code !== undefined && (code & 0xff) !== 0) {
    const name = STOP_CODE_REASONS[code & 0xff] ?? `reason ${code & 0xff}`
    const errno = (code >> 16) & 0xff
    const detail = [`i${(code >> 8) & 0x7f}`, name, ...(errno ? [ERRNO_NAMES[errno] ?? `errno ${errno}`] : [])].join(' ')
    return `${errno === 12 ? 'out of memory' : 'kernel crashed'} (${detail})`
  }
  if (reason & STOP_BITS.U) return reason & STOP_BITS.F ? 'forced stop by user' : 'stopped by user'
  if (reason & STOP_BITS.A) return `exited with code ${instance.exit_code ?? 0}`
  if (reason & STOP_BITS.P) return 'stopped by platform'
  return 'stopped'
}

export function instanceFqdn(instance: Instance): string {
  const domains = instance.service_group?.domains ?? []
  if (domains.length > 0) return domains.map((d) => d.fqdn).join(', ')
  return instance.service_group ? '' : (instance.private_fqdn ?? '')
}

function uptimeMs(instance: Instance, now: number): number | undefined {
  if (instance.uptime_ms !== undefined) return instance.uptime_ms
  return instance.started_at ? now - Date.parse(instance.started_at) : undefined
}

export function instanceStatus(instance: Instance, now = Date.now()): string {
  if (instance.status === 'error') return instance.message ?? 'error'
  if (instance.state === 'running') {
    const up = uptimeMs(instance, now)
    return up === undefined ? 'running' : `since ${formatAge(up)}`
  }
  if (instance.state === 'stopped') return stopReasonText(instance) || 'stopped'
  return instance.state ?? ''
}

export function formatMemory(memoryMb: number | undefined): string {
  return memoryMb === undefined ? '' : formatBytes(memoryMb * 1024 * 1024)
}

export function formatBootTime(bootTimeUs: number | undefined): string {
  return bootTimeUs ? `${(bootTimeUs / 1000).toFixed(2)} ms` : ''
}

const str = (value: number | string | boolean | undefined): string => (value === undefined ? '' : String(value))

const NAME: Column<Instance> = {header: 'NAME', value: (i) => i.name ?? ''}
const FQDN: Column<Instance> = {header: 'FQDN', value: instanceFqdn}
const STATE: Column<Instance> = {header: 'STATE', value: (i) => i.state ?? '', color: colourState}
const IMAGE: Column<Instance> = {header: 'IMAGE', value: (i) => i.image ?? ''}
const MEMORY: Column<Instance> = {header: 'MEMORY', value: (i) => formatMemory(i.memory_mb)}
const VCPUS: Column<Instance> = {header: 'VCPUS', value: (i) => str(i.vcpus)}
const ARGS: Column<Instance> = {header: 'ARGS', value: (i) => (i.args ?? []).join(' ')}
const BOOT_TIME: Column<Instance> = {header: 'BOOT TIME', value: (i) => formatBootTime(i.boot_time_us)}

/** kraft's `table` columns. */
export const INSTANCE_TABLE_COLUMNS: Column<Instance>[] = [
  NAME,
  FQDN,
  STATE,
  {header: 'STATUS', value: (i) => instanceStatus(i)},
  IMAGE,
  MEMORY,
  VCPUS,
  ARGS,
  BOOT_TIME,
]

/** kraft's columns for every other format. */
export const INSTANCE_LIST_COLUMNS: Column<Instance>[] = [
  {header: 'UUID', value: (i) => i.uuid ?? ''},
  NAME,
  FQDN,
  {header: 'PRIVATE FQDN', value: (i) => i.private_fqdn ?? ''},
  {header: 'PRIVATE IP', value: (i) => i.private_ip ?? ''},
  STATE,
  {header: 'CREATED', value: (i) => formatAgo(i.created_at)},
  {header: 'STARTED', value: (i) => formatAgo(i.started_at)},
  {header: 'STOPPED', value: (i) => formatAgo(i.stopped_at)},
  {header: 'START COUNT', value: (i) => str(i.start_count)},
  {header: 'RESTART COUNT', value: (i) => str(i.restart_count)},
  {header: 'RESTART ATTEMPTS', value: (i) => str(i.restart?.attempt)},
  {header: 'NEXT RESTART', value: (i) => i.restart?.next_at ?? ''},
  {header: 'RESTART POLICY', value: (i) => i.restart_policy ?? ''},
  {header: 'STOP ORIGIN', value: (i) => stopOrigin(i.stop_reason)},
  {header: 'STOP REASON', value: stopReasonText},
  {header: 'APP EXIT CODE', value: (i) => (i.stop_reason !== undefined && i.stop_reason & STOP_BITS.A ? str(i.exit_code) : '')},
  IMAGE,
  MEMORY,
  VCPUS,
  ARGS,
  {header: 'ENV', value: (i) => Object.entries(i.env ?? {}).map(([k, v]) => `${k}=${v}`).join(', ')},
  {header: 'VOLUMES', value: (i) => (i.volumes ?? []).map((v) => `${v.name || v.uuid}:${v.at}${v.readonly ? ':ro' : ''}`).join(', ')},
  {header: 'SERVICE', value: (i) => i.service_group?.name || i.service_group?.uuid || ''},
  {header: 'SCALE TO ZERO', value: (i) => i.scale_to_zero?.policy ?? ''},
  {header: 'SCALE TO ZERO COOLDOWN', value: (i) => (i.scale_to_zero?.cooldown_time_ms === undefined ? '' : `${i.scale_to_zero.cooldown_time_ms}ms`)},
  {header: 'SCALE TO ZERO STATEFUL', value: (i) => str(i.scale_to_zero?.stateful)},
  BOOT_TIME,
  {header: 'UP TIME', value: (i) => (i.uptime_ms === undefined ? '' : formatAge(i.uptime_ms))},
]

/** Instances as a table or list (`json`/`raw` are the caller's: they print API data). */
export function renderInstances(instances: Instance[], format: 'table' | 'list', options: {color?: boolean} = {}): string {
  if (instances.length === 0) return ''
  return format === 'table'
    ? renderTable(INSTANCE_TABLE_COLUMNS, instances, options)
    : renderList(INSTANCE_LIST_COLUMNS, instances, options)
}

function headline(state: InstanceState | undefined): string {
  switch (state) {
    case 'running':
      return 'Deployed successfully!'
    case 'standby':
      return 'Deployed but instance is on standby!'
    case 'starting':
    case 'stopped':
    case 'stopping':
    case 'draining':
      return 'Deployed but instance is not online!'
    default:
      return 'Deployed but instance is in an unknown status!'
  }
}

/** kraft's "fancy map" after `instance create`: keys right-aligned behind a rule. */
export function renderCreateSummary(
  instance: Instance,
  context: {metro: string; service?: ServiceGroup; color?: boolean; /** Where public 443 really listens (the local gateway's port). */ httpsPort?: number},
): string {
  const service = context.service
  const httpsPort = (service?.services ?? []).some((p) => p.port === 443)
  const fqdn = instance.service_group?.domains?.[0]?.fqdn ?? service?.domains?.[0]?.fqdn
  const entries: Array<[string, string | undefined]> = [
    ['name', instance.name],
    ['uuid', instance.uuid],
    ['metro', context.metro],
    ['state', instance.state],
    ['domain', fqdn ? (httpsPort ? `https://${fqdn}${context.httpsPort && context.httpsPort !== 443 ? `:${context.httpsPort}` : ''}` : fqdn) : undefined],
    ['image', instance.image],
    ['boot time', instance.state === 'starting' ? undefined : formatBootTime(instance.boot_time_us)],
    ['memory', formatMemory(instance.memory_mb)],
    ['service', instance.service_group?.name || instance.service_group?.uuid],
    ['private fqdn', instance.private_fqdn],
    ['private ip', instance.private_ip],
    ['stop reason', instance.state === 'stopped' ? stopReasonText(instance) : undefined],
    ['args', (instance.args ?? []).join(' ')],
  ]
  const dot = context.color ? colourState('●', instance) : '●'
  const lines = [`[${dot}] ${headline(instance.state)}`]
  for (const [key, value] of entries) {
    if (!value) continue
    const shown = key === 'state' ? colourStateIf(value, instance, context.color) : value
    lines.push(` ${'─'.repeat(Math.max(2, 14 - key.length))} ${key}: ${shown}`)
  }
  return lines.join('\n')
}

function colourStateIf(text: string, instance: Instance, color: boolean | undefined): string {
  return color ? colourState(text, instance) : text
}

/** The names of the `instance` topic (kraft's aliases), for commandAliases. */
export const INSTANCE_TOPICS = ['instance', 'inst', 'instances', 'vm', 'vms'] as const

/** What start/stop/restart/remove answer per instance: its state now and before. */
export const INSTANCE_TRANSITION_COLUMNS: Column<Instance>[] = [
  NAME,
  {header: 'UUID', value: (i) => i.uuid ?? ''},
  STATE,
  {header: 'PREVIOUS STATE', value: (i) => i.previous_state ?? ''},
]

export function renderTransitions(instances: Instance[], format: 'table' | 'list', options: {color?: boolean} = {}): string {
  if (instances.length === 0) return ''
  // A delete answers no `state`: leave out what no row has rather than print an empty column.
  const columns = INSTANCE_TRANSITION_COLUMNS.filter((c) => instances.some((i) => c.value(i) !== ''))
  return format === 'table' ? renderTable(columns, instances, options) : renderList(columns, instances, options)
}
