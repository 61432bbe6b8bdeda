// How instance metrics look on screen. `instance metrics` uses kraft's columns (table: NAME, STATE,
// RSS, CPU TIME, STARTS, TOTAL, to which ukc adds CONNECTIONS, RX SIZE and TX SIZE; every other format
// adds UUID, packets, requests, queued, restarts, times). `instance top` draws one frame per refresh
// with the CPU share since the previous frame.
import type {Instance, InstanceMetrics} from '../api/index.js'
import {colourState, formatBootTime, formatMemory} from './instance-view.js'
import {type Column, formatAge, formatAgo, formatBytes, renderList, renderTable} from './render.js'

const num = (value: number | undefined): string => (value === undefined ? '' : String(value))
const bytes = (value: number | undefined): string => (value === undefined ? '' : formatBytes(value))

/** Go's time.Duration.String() of a millisecond count ("0s", "230ms", "1m2.5s"), as kraft prints CPU time. */
export function formatDurationMs(ms: number | undefined): string {
  if (ms === undefined) return ''
  if (ms === 0) return '0s'
  if (ms < 1000) return `${ms}ms`
  const h = Math.floor(ms / 3_600_000)
  const m = Math.floor((ms % 3_600_000) / 60_000)
  const s = ((ms % 60_000) / 1000).toFixed(3).replace(/\.?0+$/, '')
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${s}s`
}

const NAME: Column<InstanceMetrics> = {header: 'NAME', value: (m) => m.name ?? ''}
const STATE: Column<InstanceMetrics> = {header: 'STATE', value: (m) => m.state ?? '', color: (text, m) => colourState(text, {uuid: m.uuid, name: m.name, state: m.state})}
const RSS: Column<InstanceMetrics> = {header: 'RSS', value: (m) => bytes(m.rss_bytes)}
const CPU_TIME: Column<InstanceMetrics> = {header: 'CPU TIME', value: (m) => formatDurationMs(m.cpu_time_ms)}
const CONNECTIONS: Column<InstanceMetrics> = {header: 'CONNECTIONS', value: (m) => num(m.nconns)}
const RX_SIZE: Column<InstanceMetrics> = {header: 'RX SIZE', value: (m) => bytes(m.rx_bytes)}
const TX_SIZE: Column<InstanceMetrics> = {header: 'TX SIZE', value: (m) => bytes(m.tx_bytes)}
const STARTS: Column<InstanceMetrics> = {header: 'STARTS', value: (m) => num(m.start_count)}
const TOTAL: Column<InstanceMetrics> = {header: 'TOTAL', value: (m) => num(m.ntotal)}

const TABLE: Column<InstanceMetrics>[] = [NAME, STATE, RSS, CPU_TIME, CONNECTIONS, RX_SIZE, TX_SIZE, STARTS, TOTAL]

/** kraft's order for every format but the table. */
const LIST: Column<InstanceMetrics>[] = [
  {header: 'UUID', value: (m) => m.uuid ?? ''},
  NAME,
  STATE,
  RSS,
  CPU_TIME,
  STARTS,
  RX_SIZE,
  {header: 'RX PACKETS', value: (m) => num(m.rx_packets)},
  TX_SIZE,
  {header: 'TX PACKETS', value: (m) => num(m.tx_packets)},
  CONNECTIONS,
  {header: 'REQUESTS', value: (m) => num(m.nreqs)},
  {header: 'QUEUED', value: (m) => num(m.nqueued)},
  {header: 'RESTARTS', value: (m) => num(m.restart_count)},
  {header: 'STARTED', value: (m) => formatAgo(m.started_at)},
  {header: 'STOPPED', value: (m) => formatAgo(m.stopped_at)},
  {header: 'UPTIME', value: (m) => (m.uptime_ms === undefined ? '' : formatAge(m.uptime_ms))},
  {header: 'BOOT TIME', value: (m) => formatBootTime(m.boot_time_us)},
  {header: 'NET TIME', value: (m) => formatBootTime(m.net_time_us)},
  TOTAL,
]

export function renderMetrics(metrics: InstanceMetrics[], format: 'table' | 'list', options: {color?: boolean} = {}): string {
  if (metrics.length === 0) return ''
  return format === 'table' ? renderTable(TABLE, metrics, options) : renderList(LIST, metrics, options)
}

/** One row of `instance top`: the metrics, the instance (for its memory), the CPU share since the last frame. */
export interface TopRow {
  metrics: InstanceMetrics
  instance?: Instance
  /** Percent of one vCPU used since the previous frame; undefined on the first frame. */
  cpuPercent?: number
  /** The API's message when this instance's metrics could not be read (e.g. it was deleted). */
  failure?: string
}

/**
 * CPU share between two samples: CPU time over the instance's own running time (uptime advances only
 * while it runs), or over the wall clock when the API sends no uptime.
 */
export function cpuShare(before: InstanceMetrics | undefined, now: InstanceMetrics, wallMs: number): number | undefined {
  if (!before || before.cpu_time_ms === undefined || now.cpu_time_ms === undefined) return undefined
  const cpu = now.cpu_time_ms - before.cpu_time_ms
  const span = before.uptime_ms !== undefined && now.uptime_ms !== undefined ? now.uptime_ms - before.uptime_ms : wallMs
  if (cpu < 0 || span < 0) return undefined // restarted in between: no meaningful share
  return span === 0 ? 0 : (cpu / span) * 100
}

const TOP_COLUMNS: Column<TopRow>[] = [
  {header: 'NAME', value: (r) => r.metrics.name ?? ''},
  {header: 'STATE', value: (r) => r.failure ?? r.metrics.state ?? r.instance?.state ?? '', color: (text, r) => colourState(text, {uuid: r.metrics.uuid, name: r.metrics.name, state: r.metrics.state ?? r.instance?.state})},
  {header: 'UPTIME', value: (r) => (r.metrics.uptime_ms === undefined ? '' : formatAge(r.metrics.uptime_ms))},
  {header: 'CPU', value: (r) => (r.cpuPercent === undefined ? '-' : `${r.cpuPercent.toFixed(1)}%`)},
  {header: 'MEM', value: (r) => [bytes(r.metrics.rss_bytes), formatMemory(r.instance?.memory_mb)].filter(Boolean).join(' / ')},
  {header: 'CONNS', value: (r) => num(r.metrics.nconns)},
  {header: 'REQS', value: (r) => num(r.metrics.nreqs)},
  {header: 'NET RX / TX', value: (r) => `${bytes(r.metrics.rx_bytes) || '-'} / ${bytes(r.metrics.tx_bytes) || '-'}`},
  {header: 'STARTS', value: (r) => num(r.metrics.start_count)},
]

export function renderTopFrame(rows: TopRow[], heading: string, options: {color?: boolean} = {}): string {
  const table = rows.length === 0 ? 'No instances.' : renderTable(TOP_COLUMNS, rows, options)
  return `${heading}\n\n${table}\n`
}
