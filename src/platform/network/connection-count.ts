// How many connections an instance has open (through its private endpoints and the gateway, and
// those the kernel forwards), and waiting for that number to reach zero (a drain). The one count of
// an instance's connections: scale-to-zero reads it too. The platform's own connections are counted
// as they open and close; the kernel's are read when asked (`forwarded`, a procfs read), so a drain
// with such connections polls.

/** How often a drain looks at the kernel's connections again. */
export const FORWARDED_POLL_MS = 100

export class ConnectionCount {
  private count = 0
  private opens = 0
  /** Connections held while the instance boots or wakes (counted in `open` too). */
  queued = 0
  /** Open connections the kernel forwards past the platform (set by the owner where there are any). */
  forwarded: () => number = () => 0
  private readonly drainWaiters = new Set<() => void>()

  /** Every open connection: the platform's and the kernel-forwarded ones. */
  get open(): number {
    return this.count + this.forwarded()
  }

  /** Connections through the platform's own sockets (private endpoints, gateway). */
  get tracked(): number {
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
    if (this.count === 0 && this.drainWaiters.size > 0 && this.forwarded() === 0) for (const done of [...this.drainWaiters]) done()
  }

  /**
   * Calls `done` once, when no connection is open or `timeoutMs` has passed, whichever is first.
   * Returns a cancel function (after which `done` is never called); the timer is owned here.
   */
  whenDrained(timeoutMs: number, done: () => void): () => void {
    let timer: NodeJS.Timeout | undefined
    let poll: NodeJS.Timeout | undefined
    const finish = (): void => {
      cancel()
      done()
    }
    const cancel = (): void => {
      if (timer) clearTimeout(timer)
      if (poll) clearInterval(poll)
      timer = poll = undefined
      this.drainWaiters.delete(finish)
    }
    if (this.open === 0) {
      queueMicrotask(done)
      return () => {}
    }
    this.drainWaiters.add(finish)
    timer = setTimeout(finish, timeoutMs)
    // Kernel-forwarded connections end without telling the platform.
    if (this.forwarded() > 0) poll = setInterval(() => this.open === 0 && finish(), FORWARDED_POLL_MS)
    return cancel
  }
}
