// Who may open a tunnel session: the bearer of the tunnel token, checked in constant time against the
// SHA-256 the relay was given (failures are limited per source: handshake-limiter.ts).
import crypto from 'node:crypto'
import type http from 'node:http'

export function hashToken(token: string): string {
  return crypto.createHash('sha256').update(token, 'utf8').digest('hex')
}

export function bearerOf(request: http.IncomingMessage): string | undefined {
  const header = request.headers.authorization
  if (!header) return undefined
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
  return match?.[1]
}

/** Compares digests of equal length, so time depends on neither the token nor how much of it matches. */
export function tokenMatches(presented: string | undefined, expectedHash: Buffer): boolean {
  const digest = crypto.createHash('sha256').update(presented ?? '', 'utf8').digest()
  return crypto.timingSafeEqual(digest, expectedHash) && presented !== undefined
}
