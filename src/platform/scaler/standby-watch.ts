// Decides when a running instance goes to standby under its scale-to-zero policy:
//  - `on`:   no connection for `cooldown_time_ms`;
//  - `idle`: additionally, when the open connections moved no bytes for the cooldown.
// One timer per instance; `activity()` only records a timestamp (it runs for every chunk of data),
// and the timer re-arms itself for the remaining time when it fires early. The number of open
// connections is read from the instance's one connection count; time comes from a clock that tests
// replace. Connections the kernel forwards past the platform (policy `on` only) send no events: when
// the timer fires with no connection of the platform's own, the kernel is asked (`forwarded`) for
// the ones open now and how many it forwarded so far; while they are open, or when that total moved
// since the last look, the instance is busy and the watch looks again after at most POLL_MS.
import type {ScaleToZero} from '../types.js'

export const DEFAULT_COOLDOWN_MS = 1000
/** How often a busy instance's kernel-forwarded connections are looked at again (at most). */
export const FORWARDED_POLL_MS = 500

/** Kernel-forwarded connections of the instance: open now, and forwarded since forwarding began. */
export interface ForwardedReading {
  open: number
  total: number
}

/** Time and timers; the real one is `SYSTEM_CLOCK`. */
export interface WatchClock {
  now(): number
  /** Calls `fire` after `ms`; returns a cancel function. Must not keep the process alive. */
  schedule(fire: () => void, ms: number): () => void
}

export const SYSTEM_CLOCK: WatchClock = {
  now: () => performance.now(),
  schedule: (fire, ms) => {
    const timer = setTimeout(fire, ms)
    timer.unref()
    return () => clearTimeout(timer)
  },
}

export interface StandbyWatchOptions {
  policy: ScaleToZero
  /** Connections open right now (the instance's connection count). */
  connections: () => number
  /** The cooldown passed: the instance should go to standby. Called once per arm. */
  onIdle: () => void
  /** The kernel's reading, where it forwards connections to the instance past the platform. */
  forwarded?: () => Promise<ForwardedReading>
  clock?: WatchClock
}

export class StandbyWatch {
  private quietSince: number
  private cancelTimer: (() => void) | undefined
  private armed = false
  /** Bumped by every arm and disarm: a kernel reading that comes back after one is stale. */
  private generation = 0
  private forwardedTotal = 0
  private readonly clock: WatchClock

  constructor(private readonly options: StandbyWatchOptions) {
    this.clock = options.clock ?? SYSTEM_CLOCK
    this.quietSince = this.clock.now()
  }

  get enabled(): boolean {
    return this.options.policy.policy === 'on' || this.options.policy.policy === 'idle'
  }

  get cooldownMs(): number {
    return this.options.policy.cooldown_time_ms ?? DEFAULT_COOLDOWN_MS
  }

  /** The instance is running: start watching (from now). */
  arm(): void {
    this.armed = true
    this.generation += 1
    this.forwardedTotal = 0 // forwarding (re)starts with the run: the kernel's count starts at 0
    this.quietSince = this.clock.now()
    this.schedule(this.cooldownMs)
  }

  /** The instance is not running (standby, stopping, ...): no decisions until armed again. */
  disarm(): void {
    this.armed = false
    this.generation += 1
    this.clear()
  }

  /** A connection was opened (after the count went up). */
  opened(): void {
    this.quietSince = this.clock.now()
  }

  /** A connection ended (after the count went down). */
  closed(): void {
    this.quietSince = this.clock.now()
    if (this.options.connections() === 0) this.schedule(this.cooldownMs)
  }

  activity(): void {
    this.quietSince = this.clock.now()
  }

  private get busy(): boolean {
    return this.options.policy.policy === 'on' && this.options.connections() > 0
  }

  private clear(): void {
    this.cancelTimer?.()
    this.cancelTimer = undefined
  }

  private schedule(ms: number): void {
    if (!this.armed || !this.enabled || this.busy) return
    this.clear()
    this.cancelTimer = this.clock.schedule(() => this.check(), Math.max(0, ms))
  }

  private check(): void {
    this.cancelTimer = undefined
    if (!this.armed || this.busy) return // `on`: re-armed by the last close
    if (this.options.forwarded && this.options.policy.policy === 'on') return void this.checkForwarded(this.options.forwarded)
    this.decide()
  }

  /** Standby once the cooldown has passed since the last sign of a connection, else look again then. */
  private decide(): void {
    const remaining = this.cooldownMs - (this.clock.now() - this.quietSince)
    if (remaining > 0) {
      this.schedule(remaining)
      return
    }
    this.disarm()
    this.options.onIdle()
  }

  private async checkForwarded(read: () => Promise<ForwardedReading>): Promise<void> {
    const generation = this.generation
    let reading: ForwardedReading
    try {
      reading = await read()
    } catch {
      reading = {open: 0, total: this.forwardedTotal} // unreadable: decide on the platform's own count
    }
    if (generation !== this.generation || !this.armed || this.busy) return
    const moved = reading.total !== this.forwardedTotal
    this.forwardedTotal = reading.total
    if (reading.open > 0 || moved) {
      this.quietSince = this.clock.now()
      this.schedule(Math.min(this.cooldownMs, FORWARDED_POLL_MS))
      return
    }
    this.decide()
  }
}
