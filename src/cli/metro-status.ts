// The metros ukc knows, as rows, and — for `metro list --status` — every metro's API probed in
// parallel (src/api/metro-probe.ts), the embedded platform answering for `local` when it runs.
import fs from 'node:fs'

import {LOCAL_METRO, METROS, baseUrlForMetro, probeApi} from '../api/index.js'
import {type PlatformInfo, readPlatformInfo} from '../local/index.js'
import {type MetroRow, byReachability} from './metro-view.js'

export function metroRows(local: PlatformInfo | undefined): MetroRow[] {
  return [
    ...METROS.map((m) => ({code: m.code, location: m.location, api: baseUrlForMetro(m.code), legacy: m.legacy})),
    {code: LOCAL_METRO, location: 'this machine (ukc local start)', api: local?.url ?? '', legacy: false},
  ]
}

/** Every known metro with its status, sorted as kraft sorts them; `localDir` is the embedded platform's data dir. */
export async function metroStatus(options: {localDir: string; timeoutMs?: number}): Promise<MetroRow[]> {
  const local = readPlatformInfo(options.localDir)
  return probeRows(metroRows(local), {timeoutMs: options.timeoutMs, localCa: local ? readCa(local.ca) : undefined})
}

/** Probes the rows' APIs in parallel (a row without one is `local` not running). */
export async function probeRows(rows: MetroRow[], options: {timeoutMs?: number; localCa?: string}): Promise<MetroRow[]> {
  const probed = await Promise.all(
    rows.map(async (row): Promise<MetroRow> => {
      if (!row.api) return {...row, status: 'offline', reason: 'not started'}
      const ca = row.code === LOCAL_METRO ? options.localCa : undefined
      const result = await probeApi(row.api, {timeoutMs: options.timeoutMs, ca})
      return {...row, status: result.online ? 'online' : 'offline', ...(result.latencyMs === undefined ? {} : {latency_ms: result.latencyMs}), ...(result.reason ? {reason: result.reason} : {})}
    }),
  )
  return byReachability(probed)
}

function readCa(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8')
  } catch {
    return undefined
  }
}
