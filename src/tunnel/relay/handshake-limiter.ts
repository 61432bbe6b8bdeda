// Failed tunnel handshakes, counted per source (handshake-source.ts): a source with `limit` failures
// in the last `windowMs` is answered 429 without a log line until the oldest ages out. Per source, so
// one client's failures cost no other client anything; in a table of at most `capacity` sources, so
// a flood from many addresses costs bounded memory (the source that failed least recently is
// forgotten first, which only gives it a fresh budget). Hand-written: a Map in insertion order is
// the whole table, and the relay image ships only ws.

export interface HandshakeLimits {
  /** Failures per source within the window before it gets 429. */
  limit: number
  windowMs: number
  /** Sources remembered at once. */
  capacity: number
}

export const DEFAULT_HANDSHAKE_LIMITS: HandshakeLimits = {limit: 10, windowMs: 10_000, capacity: 4096}

export class HandshakeLimiter {
  /** Source → times of its recent failures, oldest first (at most `limit`). */
  private readonly failures = new Map<string, number[]>()

  constructor(readonly limits: HandshakeLimits = DEFAULT_HANDSHAKE_LIMITS) {}

  /** Sources in the table (never more than `capacity`). */
  get size(): number {
    return this.failures.size
  }

  blocked(source: string, now = Date.now()): boolean {
    return this.recent(source, now).length >= this.limits.limit
  }

  /** Whole seconds until `source`'s oldest failure leaves the window (for Retry-After). */
  retryAfterS(source: string, now = Date.now()): number {
    const oldest = this.recent(source, now)[0]
    return oldest === undefined ? 0 : Math.max(1, Math.ceil((oldest + this.limits.windowMs - now) / 1000))
  }

  /** Counts a failure; true when it is the one that blocks the source. */
  fail(source: string, now = Date.now()): boolean {
    const times = this.recent(source, now)
    times.push(now)
    if (times.length > this.limits.limit) times.shift()
    // Re-inserting moves the source to the end: the first key is always the least recent failure.
    this.failures.delete(source)
    this.failures.set(source, times)
    while (this.failures.size > this.limits.capacity) {
      const oldest = this.failures.keys().next().value as string
      this.failures.delete(oldest)
    }
    return times.length === this.limits.limit
  }

  /** The source's failures inside the window (expired ones dropped, an empty entry forgotten). */
  private recent(source: string, now: number): number[] {
    const times = this.failures.get(source)
    if (!times) return []
    while (times.length > 0 && (times[0] ?? 0) <= now - this.limits.windowMs) times.shift()
    if (times.length === 0) this.failures.delete(source)
    return times
  }
}
