import {AuthError} from './errors.js'

export interface Credentials {
  /** The user part, e.g. `robot$alice.users.kraftcloud`. */
  user: string
  /** The secret part: never printed. */
  secret: string
}

/** A token is base64(`user:secret`), as `kraft cloud` and the SDKs expect. */
export function decodeToken(token: string): Credentials {
  const trimmed = token.trim()
  if (!/^[A-Za-z0-9+/=_-]+$/.test(trimmed)) {
    throw new AuthError('could not decode token: not base64', 'a token is base64 of `user:secret`; check UKC_TOKEN or `ukc login`')
  }
  const text = Buffer.from(trimmed, 'base64').toString('utf8')
  const parts = text.split(':')
  if (parts.length !== 2 || !parts[0] || !parts[1]) {
    throw new AuthError('invalid token format', 'a token is base64 of `user:secret`; check UKC_TOKEN or `ukc login`')
  }
  return {user: parts[0], secret: parts[1]}
}

export function encodeToken(credentials: Credentials): string {
  return Buffer.from(`${credentials.user}:${credentials.secret}`, 'utf8').toString('base64')
}

/** The user name as shown to people: `robot$alice.users.kraftcloud` → `alice`. */
export function displayUser(user: string): string {
  return user.replace(/^robot\$/, '').replace(/\.users\.kraftcloud$/, '')
}
