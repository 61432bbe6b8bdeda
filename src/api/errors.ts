// Typed errors: the libraries throw these, the base command maps each to one line, a hint and an
// exit code (README "Exit codes").

export const ExitCode = {
  Ok: 0,
  Unexpected: 1,
  Usage: 2,
  Auth: 3,
  NotFound: 4,
  Conflict: 5,
  Unavailable: 7,
  UnknownCommand: 127,
  Interrupted: 130,
} as const

export class UkcError extends Error {
  readonly exitCode: number
  readonly hint?: string
  readonly code: string

  constructor(message: string, options: {exitCode?: number; hint?: string; code?: string; cause?: unknown} = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.name = new.target.name
    this.exitCode = options.exitCode ?? ExitCode.Unexpected
    this.hint = options.hint
    this.code = options.code ?? 'UNEXPECTED'
  }
}

/** Bad input from the user: flags, arguments, config values. */
export class UsageError extends UkcError {
  constructor(message: string, hint?: string) {
    super(message, {exitCode: ExitCode.Usage, hint, code: 'USAGE'})
  }
}

/** The API refused the request as invalid (HTTP 400 or a per-item validation error). */
export class ValidationError extends UkcError {
  constructor(message: string, hint?: string) {
    super(message, {exitCode: ExitCode.Usage, hint, code: 'VALIDATION'})
  }
}

export class AuthError extends UkcError {
  constructor(message: string, hint = 'run `ukc login` or set UKC_TOKEN') {
    super(message, {exitCode: ExitCode.Auth, hint, code: 'AUTH'})
  }
}

export class NotFoundError extends UkcError {
  constructor(message: string, hint?: string) {
    super(message, {exitCode: ExitCode.NotFound, hint, code: 'NOT_FOUND'})
  }
}

export class ConflictError extends UkcError {
  constructor(message: string, hint?: string) {
    super(message, {exitCode: ExitCode.Conflict, hint, code: 'CONFLICT'})
  }
}

/** The API could not be reached, timed out, or answered 5xx. */
export class NetworkError extends UkcError {
  constructor(message: string, hint?: string, cause?: unknown) {
    super(message, {exitCode: ExitCode.Unavailable, hint, code: 'UNAVAILABLE', cause})
  }
}

/** Any other API failure, with the API's own message. */
export class ApiError extends UkcError {
  readonly httpStatus?: number
  constructor(message: string, httpStatus?: number, hint?: string) {
    super(message, {exitCode: ExitCode.Unexpected, hint, code: 'API'})
    this.httpStatus = httpStatus
  }
}
