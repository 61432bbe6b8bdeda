// The metros ukc knows, as rows, and — for `metro list --status` — every metro's API probed in
// parallel (src/api/metro-probe.ts), the embedded platform answering for `local` when it runs.
import fs from 'node:fs'

import {LOCAL_METRO, METROS, type MetroProbe, baseUrlForMetro, probeApi} from '../api/index.js'
import {type PlatformInfo, readPlatformInfo} from '../local/index.js'
import {type MetroRow, byReachability} from './metro-view.js'

export function metroRows(local: PlatformInfo | undefined): MetroRow[] {
  return [
    ...METROS.map((m) => ({code: m.code, location: m.location, api: baseUrlForMetro(m.code), legacy: m.legacy})),
    {code: LOCAL_METRO, location: 'this machine (ukc local start)', api: local?.url ?? '', legacy: false},
  ]
}

export interface StatusOptions {
  /** The embedded platform's data dir. */
  localDir: string
  timeoutMs?: number
  /** Probes one API (tests pass loopback servers through `rows`). */
  probe?: (baseUrl: string, options: {timeoutMs?: number; ca?: string}) => Promise<MetroProbe>
}

/** Every known metro with its status, sorted as kraft sorts them. */
export async function metroStatus(options: StatusOptions): Promise<MetroRow[]> {
  const local = readPlatformInfo(options.localDir)
  return probeRows(metroRows(local), {...options, localCa: local ? readCa(local.ca) : undefined})
}

export async function probeRows(rows: MetroRow[], options: {timeoutMs?: number; localCa?: string; probe?: StatusOptions['probe']}): Promise<MetroRow[]> {
  const probe = options.probe ?? probeApi
  const probed = await Promise.all(
    rows.map(async (row): Promise<MetroRow> => {
      if (!row.api) return {...row, status: 'offline', reason: 'not started'}
      const ca = row.code === LOCAL_METRO ? options.localCa : undefined
      const result = await probe(row.api, {timeoutMs: options.timeoutMs, ca})
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
