import {ApiError, AuthError, ConflictError, NetworkError, NotFoundError, UkcError, ValidationError} from './errors.js'
import {type Envelope, ErrorCode, type ItemStatus} from './types.js'

/** The decoded answer of one API call: its items (failed ones included) and the raw body. */
export interface BatchResult<T extends ItemStatus> {
  status: Envelope['status']
  message?: string
  items: T[]
  raw: string
}

function parseBody(text: string): Envelope | undefined {
  if (!text.trim()) return undefined
  try {
    const value = JSON.parse(text) as unknown
    return value && typeof value === 'object' ? (value as Envelope) : undefined
  } catch {
    return undefined
  }
}

function messageOf(envelope: Envelope | undefined, text: string): string {
  const fromErrors = envelope?.errors?.map((e) => e.message).filter(Boolean).join('; ')
  return envelope?.message || fromErrors || text.trim().slice(0, 300) || 'no message'
}

/** Maps a whole-request failure (non-2xx) to a typed error. */
export function errorForHttpStatus(httpStatus: number, text: string, url: string): UkcError {
  const envelope = parseBody(text)
  const message = messageOf(envelope, text)
  if (httpStatus === 401 || httpStatus === 403) {
    return new AuthError(`not authorized (HTTP ${httpStatus}): ${message}`)
  }
  if (httpStatus === 404) return new NotFoundError(message)
  if (httpStatus === 409) return new ConflictError(message)
  if (httpStatus === 400 || httpStatus === 422) return new ValidationError(message)
  if (httpStatus >= 500 || httpStatus === 429) {
    return new NetworkError(`API at ${url} answered HTTP ${httpStatus}: ${message}`, 'try again shortly; check `ukc metro list --status`')
  }
  return new ApiError(`API error: status code ${httpStatus}, message: ${message}`, httpStatus)
}

/** Maps a failed batch item to a typed error. */
export function errorForItem(item: ItemStatus & {uuid?: string; name?: string}): UkcError {
  const who = item.name || item.uuid
  const text = item.message || 'failed'
  const message = who && !text.includes(who) ? `${who}: ${text}` : text
  switch (item.error) {
    case ErrorCode.NotFound:
      return new NotFoundError(message)
    case ErrorCode.AutoscaleNotConfigured:
      return new NotFoundError(message, 'set it up with `ukc scale init SERVICE --master INSTANCE`')
    case ErrorCode.AlreadyExists:
    case ErrorCode.Attached:
    case ErrorCode.NotAttached:
    case ErrorCode.AutoscaleInstance:
      return new ConflictError(message)
    case ErrorCode.FailedWrongVMState:
      return new ConflictError(message, 'the instance is in the wrong state for this; `ukc instance stop` it first if it runs')
    case ErrorCode.CannotBeUsed:
      return new ConflictError(message, 'try again in a moment')
    case ErrorCode.AutoscaleConfigured:
      return new ConflictError(message, 'change it with `ukc scale add`/`ukc scale remove`, or start over with `ukc scale reset SERVICE`')
    case ErrorCode.CertCNMismatch:
      return new ValidationError(message, 'a certificate serves only the names it was issued for (its CN and subjectAltName): `openssl x509 -noout -subject -ext subjectAltName -in CHAIN.pem`')
    case ErrorCode.AutoscaleSizeOOR:
      return new ValidationError(message, '`ukc quotas` shows the autoscale sizes this account allows')
    case ErrorCode.AutoscaleDisabled:
      return new ApiError(`${message} (code=${item.error})`, undefined, 'autoscale is not enabled for this account (`ukc quotas`, AUTOSCALE)')
    case ErrorCode.Invalid:
    case ErrorCode.MalformedRequest:
    case ErrorCode.NotBoth:
    case ErrorCode.MissingID:
    case ErrorCode.TooLong:
    case ErrorCode.GuestMemoryTooSmall:
      return new ValidationError(message)
    case ErrorCode.NotAllowed:
      return new AuthError(message, 'this token may not do that')
    default:
      return new ApiError(item.error === undefined ? message : `${message} (code=${item.error})`)
  }
}

export function isFailed(item: ItemStatus): boolean {
  return item.status === 'error'
}

/**
 * Decodes a 2xx response body: the envelope must carry `data` with exactly one key (or none:
 * an empty list). Items keep their per-item status; callers decide what a failure means.
 */
export function decodeEnvelope<T extends ItemStatus>(text: string, key: string, url: string): BatchResult<T> {
  const envelope = parseBody(text)
  if (!envelope || typeof envelope.status !== 'string') {
    throw new ApiError(`unexpected response from ${url}: ${text.trim().slice(0, 200) || 'empty body'}`)
  }
  const data = envelope.data ?? {}
  const keys = Object.keys(data)
  if (keys.length > 1) throw new ApiError(`unexpected response from ${url}: data has several keys (${keys.join(', ')})`)
  const items = ((data as Record<string, T[] | undefined>)[key] ?? (keys.length === 1 ? (data as Record<string, T[]>)[keys[0]] : [])) ?? []
  if (envelope.status === 'error' && items.length === 0) {
    throw new ApiError(messageOf(envelope, text))
  }
  return {status: envelope.status, message: envelope.message, items, raw: text}
}

/** All items, or the first failure as a typed error. */
export function allOrThrow<T extends ItemStatus>(result: BatchResult<T>): T[] {
  const failed = result.items.find(isFailed)
  if (failed) throw errorForItem(failed as T & {uuid?: string; name?: string})
  return result.items
}

/** The single item of a one-object call, or its failure as a typed error. */
export function firstOrThrow<T extends ItemStatus>(result: BatchResult<T>): T {
  const [first] = allOrThrow(result)
  if (!first) throw new ApiError(result.message || 'the API returned no item')
  return first
}
