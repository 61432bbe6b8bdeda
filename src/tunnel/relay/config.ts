// The relay's configuration: listen address from the platform's env, the rest from its args (which the
// API shows to anyone who can list instances, hence a token hash rather than the token).
import {parseArgs} from 'node:util'

// The port rule itself, not the API's face: the relay image carries only the modules it loads.
import {parsePort} from '../../api/ports.js'
import {DEFAULT_BUFFER_BYTES} from './buffer-budget.js'
import {DEFAULT_TRUSTED_PROXIES, TrustedProxies} from './handshake-source.js'

export interface RelayConfig {
  host: string
  port: number
  /** SHA-256 of the tunnel token, 32 bytes. */
  tokenHash: Buffer
  /** Targets this relay may dial, as "host:port" (lower-case host). */
  allow: string[]
  /** Exit when no client heartbeat arrived for this long. */
  heartbeatTimeoutMs: number
  /** Source address for target connections (the instance's private IP). */
  localAddress?: string
  /** hosts-format file for `*.internal` names. */
  hostsFile?: string
  /** Peers whose X-Forwarded-For names the client (address or ADDRESS/PREFIX). */
  trustedProxies: string[]
  /** Open streams per session. */
  maxStreams: number
  /** Bytes of all streams' receive windows together (what the relay may hold for targets). */
  bufferBytes: number
  /** Bytes of all streams' send windows together in v3 sessions (what the relay keeps for a resume). */
  replayBytes: number
}

export const RELAY_DEFAULT_PORT = 8080
/** Streams one session may hold open: 1,024 × ~6 KiB of state each fits the relay's 64 MiB (docs/tunnel.md). */
export const DEFAULT_MAX_STREAMS = 1024

/** Builds the argv the CLI passes when it creates the relay instance. */
export function relayArgs(options: {tokenHash: string; allow: string[]; heartbeatTimeoutMs: number}): string[] {
  return [`--token-sha256=${options.tokenHash}`, ...options.allow.map((a) => `--allow=${a}`), `--heartbeat-timeout-ms=${options.heartbeatTimeoutMs}`]
}

export function parseRelayConfig(argv: string[], env: NodeJS.ProcessEnv): RelayConfig {
  const {values} = parseArgs({
    args: argv,
    options: {
      'token-sha256': {type: 'string'},
      allow: {type: 'string', multiple: true},
      'heartbeat-timeout-ms': {type: 'string'},
      'trust-proxy': {type: 'string', multiple: true},
      'max-streams': {type: 'string'},
      'buffer-bytes': {type: 'string'},
      'replay-bytes': {type: 'string'},
    },
    strict: true,
  })
  const hash = values['token-sha256'] ?? ''
  if (!/^[0-9a-f]{64}$/i.test(hash)) throw new Error('--token-sha256 must be 64 hex digits')
  const allow = (values.allow ?? []).flatMap((a) => a.split(',')).map(normaliseTarget).filter((a) => a !== '')
  if (allow.length === 0) throw new Error('at least one --allow=host:port is required')
  const timeout = Number(values['heartbeat-timeout-ms'] ?? 30_000)
  if (!Number.isFinite(timeout) || timeout < 100) throw new Error('--heartbeat-timeout-ms must be a number ≥ 100')
  const maxStreams = wholeNumber(values['max-streams'], DEFAULT_MAX_STREAMS, '--max-streams')
  const bufferBytes = wholeNumber(values['buffer-bytes'], DEFAULT_BUFFER_BYTES, '--buffer-bytes')
  const replayBytes = wholeNumber(values['replay-bytes'], DEFAULT_BUFFER_BYTES, '--replay-bytes')
  const port = parsePort(env.PORT ?? String(RELAY_DEFAULT_PORT), {allowZero: true})
  if (port === undefined) throw new Error(`PORT ${env.PORT} is not a port`)
  return {
    host: env.UKC_LISTEN_HOST || '0.0.0.0',
    port,
    tokenHash: Buffer.from(hash, 'hex'),
    allow,
    heartbeatTimeoutMs: timeout,
    localAddress: env.UKC_PRIVATE_IP || undefined,
    hostsFile: env.UKC_HOSTS_FILE || undefined,
    trustedProxies: new TrustedProxies((values['trust-proxy'] ?? DEFAULT_TRUSTED_PROXIES).flatMap((a) => a.split(',')).filter((a) => a !== '')).cidrs,
    maxStreams,
    bufferBytes,
    replayBytes,
  }
}

function wholeNumber(text: string | undefined, fallback: number, flag: string): number {
  if (text === undefined) return fallback
  const value = Number(text)
  if (!/^\d+$/.test(text) || value < 1) throw new Error(`${flag} must be a whole number ≥ 1`)
  return value
}

/** "Host:Port" → "host:port"; IPv6 hosts keep their brackets. */
export function normaliseTarget(target: string): string {
  return target.trim().toLowerCase()
}
