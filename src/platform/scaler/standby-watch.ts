// Decides when a running instance goes to standby under its scale-to-zero policy:
//  - `on`:   no connection for `cooldown_time_ms`;
//  - `idle`: additionally, when the open connections moved no bytes for the cooldown.
// One timer per instance; `activity()` only records a timestamp (it runs for every chunk of data),
// and the timer re-arms itself for the remaining time when it fires early. The number of open
// connections is read from the instance's one connection count; time comes from a clock that tests
// replace.
import type {ScaleToZero} from '../types.js'

export const DEFAULT_COOLDOWN_MS = 1000

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
  clock?: WatchClock
}

export class StandbyWatch {
  private quietSince: number
  private cancelTimer: (() => void) | undefined
  private armed = false
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
    this.quietSince = this.clock.now()
    this.schedule(this.cooldownMs)
  }

  /** The instance is not running (standby, stopping, ...): no decisions until armed again. */
  disarm(): void {
    this.armed = false
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
    const remaining = this.cooldownMs - (this.clock.now() - this.quietSince)
    if (remaining > 0) {
      this.schedule(remaining)
      return
    }
    this.disarm()
    this.options.onIdle()
  }
}
