// The two ways the API fails, as the real one does: the whole request (HTTP 4xx with
// `{status:"error", message}`) or one item of a batch (HTTP 200, the item carries `error: <code>`).
import {ErrorCode} from '../../api/types.js'

export {ErrorCode}

/** Fails the whole request with an HTTP status. */
export class RequestFailure extends Error {
  constructor(
    readonly httpStatus: number,
    message: string,
  ) {
    super(message)
  }
}

/** HTTP 400 with the API's message, e.g. "Value of 'memory_mb' must be in the range 16 to 4096". */
export function invalid(message: string): RequestFailure {
  return new RequestFailure(400, message)
}

/** Fails one item of a batch with a per-item error code. */
export class ItemFailure extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message)
  }
}

export const notFound = (what: string): ItemFailure => new ItemFailure(ErrorCode.NotFound, `${what} not found`)
export const alreadyExists = (message: string): ItemFailure => new ItemFailure(ErrorCode.AlreadyExists, message)
