// The one back-off of the tunnel, for every connection that retries: the WebSocket to the relay
// (first connect while the relay boots, and reconnects), the legacy relay's control connection and
// the wait for a legacy relay to run. Capped exponential: 200 ms, 400 ms, … 5 s.
export interface BackoffPolicy {
  firstMs: number
  maxMs: number
}

export const RELAY_BACKOFF: BackoffPolicy = {firstMs: 200, maxMs: 5_000}

export class Backoff {
  private failures = 0

  constructor(readonly policy: BackoffPolicy = RELAY_BACKOFF) {}

  /** The delay before the next attempt; each call counts one more failure. */
  next(): number {
    const delay = Math.min(this.policy.maxMs, this.policy.firstMs * 2 ** Math.min(this.failures, 20))
    this.failures++
    return delay
  }

  /** Consecutive failures so far. */
  get count(): number {
    return this.failures
  }

  /** After a success. */
  reset(): void {
    this.failures = 0
  }
}

/** Resolves after `ms`, or as soon as `signal` aborts (callers check the signal). */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve()
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, {once: true})
  })
}

/** Thrown by `retryUntil` when its signal aborted: the caller asked to stop, nothing failed. */
export class RetryStopped extends Error {
  override name = 'RetryStopped'
}

export interface RetryOptions {
  /** Give up (throwing the last error) once this many ms have passed. */
  deadlineMs: number
  backoff: Backoff
  signal?: AbortSignal
  /** Errors that retrying cannot mend are thrown at once. */
  isFinal?: (error: Error) => boolean
}

/** Runs `attempt` until it succeeds, with the back-off between failures. */
export async function retryUntil<T>(attempt: () => Promise<T>, options: RetryOptions): Promise<T> {
  const until = Date.now() + options.deadlineMs
  for (;;) {
    if (options.signal?.aborted) throw new RetryStopped('stopped')
    try {
      return await attempt()
    } catch (error) {
      if (options.signal?.aborted) throw new RetryStopped('stopped')
      if (options.isFinal?.(error as Error) || Date.now() >= until) throw error
      await pause(Math.min(options.backoff.next(), Math.max(0, until - Date.now())), options.signal)
    }
  }
}
