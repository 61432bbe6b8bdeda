import {type BatchResult, decodeEnvelope, errorForHttpStatus} from './envelope.js'
import {NetworkError} from './errors.js'
import {decodeToken} from './token.js'
import {send} from './transport.js'
import type {ItemStatus, ObjectRef} from './types.js'

export interface ClientOptions {
  /** API base URL ending in `/v1` (see baseUrlForMetro). */
  baseUrl: string
  /** base64(`user:secret`); validated here, sent as the Bearer credential. */
  token: string
  /** The only CA (PEM) to trust instead of the system roots: the local platform's (see cli/target.ts). */
  ca?: string
  timeoutMs?: number
  /** Attempts for idempotent calls on network errors and 502/503/504 (default 3). */
  attempts?: number
  userAgent?: string
}

export interface RequestOptions {
  body?: unknown
  query?: Record<string, string | number | boolean | undefined>
  /** Only idempotent calls are retried; a create never is. */
  idempotent?: boolean
  timeoutMs?: number
  signal?: AbortSignal
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** `{uuid}` when the value is UUID-shaped, `{name}` otherwise (as the Go SDK does). */
export function refOf(idOrName: string): ObjectRef {
  return UUID_RE.test(idOrName) ? {uuid: idOrName.toLowerCase()} : {name: idOrName}
}

export function isUuid(value: string): boolean {
  return UUID_RE.test(value)
}

const RETRY_STATUSES = new Set([502, 503, 504])
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A client for one API base URL and one token. */
export class UkcClient {
  readonly baseUrl: string
  readonly user: string
  private readonly token: string
  private readonly ca?: string
  private readonly timeoutMs: number
  private readonly attempts: number
  private readonly userAgent: string

  constructor(options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '')
    this.user = decodeToken(options.token).user
    this.token = options.token.trim()
    this.ca = options.ca
    this.timeoutMs = options.timeoutMs ?? 30_000
    this.attempts = Math.max(1, options.attempts ?? 3)
    this.userAgent = options.userAgent ?? 'ukc'
  }

  /** Calls `METHOD path` and decodes the envelope under `key` (e.g. `instances`). */
  async call<T extends ItemStatus>(method: string, path: string, key: string, options: RequestOptions = {}): Promise<BatchResult<T>> {
    const url = new URL(this.baseUrl + path)
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value))
    }
    const body = options.body === undefined ? undefined : JSON.stringify(options.body)
    const retries = options.idempotent ? this.attempts : 1
    let lastError: unknown
    for (let attempt = 1; attempt <= retries; attempt++) {
      if (attempt > 1) await sleep(Math.min(2000, 200 * 2 ** (attempt - 2)))
      let response
      try {
        response = await send({
          method,
          url,
          body,
          ca: this.ca,
          timeoutMs: options.timeoutMs ?? this.timeoutMs,
          signal: options.signal,
          headers: {
            Authorization: `Bearer ${this.token}`,
            'Content-Type': 'application/json',
            Accept: 'application/json',
            'User-Agent': this.userAgent,
          },
        })
      } catch (error) {
        if (!(error instanceof NetworkError) || options.signal?.aborted) throw error
        lastError = error
        continue
      }
      if (response.status >= 200 && response.status < 300) return decodeEnvelope<T>(response.text, key, url.toString())
      lastError = errorForHttpStatus(response.status, response.text, url.toString())
      if (!RETRY_STATUSES.has(response.status)) throw lastError
    }
    throw lastError
  }
}
