// Is a metro's API up, and how far away? As kraft's `metro list --status`: an unauthenticated GET of
// the API's root must answer 401 (the API refuses everything without a token, which proves it is the
// API and alive); the time to that answer is the metro's latency. Never sends a token.
import {performance} from 'node:perf_hooks'

import {NetworkError} from './errors.js'
import {send} from './transport.js'

/** How long a probe waits for an answer before calling the metro unreachable (kraft: 3 s). */
export const PROBE_TIMEOUT_MS = 3000

export interface MetroProbe {
  online: boolean
  /** Time to the 401, when online. */
  latencyMs?: number
  /** Why it is not online: an errno (`ECONNREFUSED`), `timed out`, or the unexpected HTTP status. */
  reason?: string
}

export async function probeApi(baseUrl: string, options: {timeoutMs?: number; ca?: string} = {}): Promise<MetroProbe> {
  const timeoutMs = options.timeoutMs ?? PROBE_TIMEOUT_MS
  const url = new URL('/', baseUrl)
  // The socket timeout covers connect and silence; the signal also bounds DNS and a trickling answer.
  const deadline = AbortSignal.timeout(timeoutMs)
  const started = performance.now()
  try {
    const response = await send({method: 'GET', url, headers: {Accept: 'application/json', 'User-Agent': 'ukc'}, timeoutMs, ca: options.ca, signal: deadline})
    const latencyMs = Math.round(performance.now() - started)
    if (response.status === 401) return {online: true, latencyMs}
    return {online: false, reason: `HTTP ${response.status} (not the Unikraft Cloud API)`}
  } catch (error) {
    if (deadline.aborted) return {online: false, reason: 'timed out'}
    if (error instanceof NetworkError) {
      const errno = (error as NetworkError & {errno?: string}).errno
      return {online: false, reason: errno === 'ETIMEDOUT' ? 'timed out' : (errno ?? error.message)}
    }
    throw error
  }
}
