// How metros look on screen: CODE, LOCATION, API, LEGACY, and with --status kraft's STATUS and PING.
import {palette} from './colour.js'
import {type Column, renderList, renderTable} from './render.js'

export interface MetroRow {
  code: string
  location: string
  /** The API base URL ('' for `local` when it is not running). */
  api: string
  legacy: boolean
  /** With --status: whether the API answered as the API does (401 without a token). */
  status?: 'online' | 'offline'
  /** Time to that answer, when online. */
  latency_ms?: number
  /** Why a metro is offline: `ECONNREFUSED`, `timed out`, `not started`, an unexpected HTTP status. */
  reason?: string
}

const COLUMNS: Column<MetroRow>[] = [
  {header: 'CODE', value: (m) => m.code},
  {header: 'LOCATION', value: (m) => m.location},
  {header: 'API', value: (m) => m.api},
  {header: 'LEGACY', value: (m) => String(m.legacy)},
]

const STATUS_COLUMNS: Column<MetroRow>[] = [
  {
    header: 'STATUS',
    value: (m) => (m.status === 'offline' && m.reason ? `offline (${m.reason})` : (m.status ?? '')),
    color: (text, m) => (m.status === 'online' ? palette().green(text) : palette().red(text)),
  },
  {header: 'PING', value: (m) => (m.latency_ms === undefined ? '' : `${m.latency_ms} ms`)},
]

export function renderMetros(rows: MetroRow[], format: 'table' | 'list', options: {color?: boolean} = {}): string {
  const columns = rows.some((r) => r.status !== undefined) ? [...COLUMNS, ...STATUS_COLUMNS] : COLUMNS
  return format === 'table' ? renderTable(columns, rows, options) : renderList(columns, rows, options)
}

/** kraft's order with --status: online metros nearest first, then the offline ones (stable). */
export function byReachability(rows: MetroRow[]): MetroRow[] {
  const online = rows.filter((r) => r.status === 'online').sort((a, b) => (a.latency_ms ?? 0) - (b.latency_ms ?? 0))
  return [...online, ...rows.filter((r) => r.status !== 'online')]
}
