// How many connections an instance has open (through its private endpoints and the gateway), and
// waiting for that number to reach zero (a drain). The one count of an instance's connections:
// scale-to-zero reads it too.

export class ConnectionCount {
  private count = 0
  private opens = 0
  /** Connections held while the instance boots or wakes (counted in `open` too). */
  queued = 0
  private readonly drainWaiters = new Set<() => void>()

  get open(): number {
    return this.count
  }

  /** Connections and requests opened since the platform started (the metrics' ntotal). */
  get total(): number {
    return this.opens
  }

  opened(): void {
    this.count += 1
    this.opens += 1
  }

  /** One connection ended; never goes below zero. */
  closed(): void {
    if (this.count === 0) return
    this.count -= 1
    if (this.count === 0) for (const done of [...this.drainWaiters]) done()
  }

  /**
   * Calls `done` once, when no connection is open or `timeoutMs` has passed, whichever is first.
   * Returns a cancel function (after which `done` is never called); the timer is owned here.
   */
  whenDrained(timeoutMs: number, done: () => void): () => void {
    let timer: NodeJS.Timeout | undefined
    const finish = (): void => {
      cancel()
      done()
    }
    const cancel = (): void => {
      if (timer) clearTimeout(timer)
      timer = undefined
      this.drainWaiters.delete(finish)
    }
    if (this.count === 0) {
      queueMicrotask(done)
      return () => {}
    }
    this.drainWaiters.add(finish)
    timer = setTimeout(finish, timeoutMs)
    return cancel
  }
}
