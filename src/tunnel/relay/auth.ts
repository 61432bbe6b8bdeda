// Who may open a tunnel session: the bearer of the tunnel token, checked in constant time against the
// SHA-256 the relay was given; repeated failures are rate-limited so the token cannot be guessed fast.
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

/** At most `limit` failed handshakes per `windowMs`; beyond that every handshake is refused until it slides. */
export class HandshakeLimiter {
  private failures: number[] = []

  constructor(
    private readonly limit = 10,
    private readonly windowMs = 10_000,
  ) {}

  blocked(now = Date.now()): boolean {
    this.prune(now)
    return this.failures.length >= this.limit
  }

  /** Seconds until the oldest failure leaves the window. */
  retryAfter(now = Date.now()): number {
    this.prune(now)
    const oldest = this.failures[0]
    return oldest === undefined ? 0 : Math.max(1, Math.ceil((oldest + this.windowMs - now) / 1000))
  }

  fail(now = Date.now()): void {
    this.prune(now)
    this.failures.push(now)
  }

  private prune(now: number): void {
    while (this.failures.length > 0 && (this.failures[0] ?? 0) <= now - this.windowMs) this.failures.shift()
  }
}
