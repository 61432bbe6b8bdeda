// Durations for tunnel flags: "500ms", "10s", "2m", "1h", or a bare number of seconds.
import {UsageError} from '../api/index.js'

const UNITS: Record<string, number> = {ms: 1, s: 1000, m: 60_000, h: 3_600_000}

export function parseDurationMs(flag: string, value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim())
  if (!match) throw new UsageError(`--${flag} ${value}: not a duration`, 'e.g. 500ms, 10s, 2m')
  return Math.round(Number(match[1]) * (UNITS[match[2] ?? 's'] ?? 1000))
}
