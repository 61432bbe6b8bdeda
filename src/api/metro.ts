import {UsageError} from './errors.js'

export interface Metro {
  code: string
  location: string
  /** Metros of the 2025+ platform live under unikraft.cloud, the legacy ones under kraft.cloud. */
  legacy: boolean
}

export const METROS: readonly Metro[] = [
  {code: 'fra', location: 'Frankfurt, DE', legacy: false},
  {code: 'dal', location: 'Dallas, TX', legacy: false},
  {code: 'sfo', location: 'San Francisco, CA', legacy: false},
  {code: 'sin', location: 'Singapore', legacy: false},
  {code: 'was', location: 'Washington, DC', legacy: false},
  {code: 'fra0', location: 'Frankfurt, DE', legacy: true},
  {code: 'dal0', location: 'Dallas, TX', legacy: true},
  {code: 'sin0', location: 'Singapore', legacy: true},
  {code: 'was1', location: 'Washington, DC', legacy: true},
]

/** The embedded platform's metro code. */
export const LOCAL_METRO = 'local'

/**
 * The API base URL (ending in `/v1`, no trailing slash) for a metro code, a full URL, or `local`
 * (whose URL the caller knows from the running platform).
 */
export function baseUrlForMetro(metro: string, localUrl?: string): string {
  const value = metro.trim()
  if (value.includes('://')) return value.replace(/\/+$/, '')
  const code = value.toLowerCase()
  if (code === LOCAL_METRO) {
    if (!localUrl) throw new UsageError('the local platform is not running', 'run `ukc local start`')
    return localUrl.replace(/\/+$/, '')
  }
  const known = METROS.find((m) => m.code === code)
  if (!known) {
    const codes = [...METROS.map((m) => m.code), LOCAL_METRO].join(', ')
    throw new UsageError(`unknown metro "${metro}" (known metros: ${codes})`, 'pass --metro with one of them, or a full API URL')
  }
  return known.legacy ? `https://api.${code}.kraft.cloud/v1` : `https://api.${code}.unikraft.cloud/v1`
}

/** Whether an API base URL is real Unikraft Cloud's (as opposed to the local platform or another URL). */
export function isUnikraftCloudApi(baseUrl: string): boolean {
  let host: string
  try {
    host = new URL(baseUrl).hostname.toLowerCase()
  } catch {
    return false
  }
  return host.endsWith('.unikraft.cloud') || host.endsWith('.kraft.cloud')
}
