// Decides when a running instance goes to standby under its scale-to-zero policy:
//  - `on`:   no connection for `cooldown_time_ms`;
//  - `idle`: additionally, when the open connections moved no bytes for the cooldown.
// One timer per instance; `activity()` only records a timestamp (it runs for every chunk of data),
// and the timer re-arms itself for the remaining time when it fires early.
import type {ScaleToZero} from '../types.js'

export const DEFAULT_COOLDOWN_MS = 1000

export class StandbyWatch {
  private connections = 0
  private quietSince = performance.now()
  private timer: NodeJS.Timeout | undefined
  private armed = false

  constructor(
    private readonly policy: ScaleToZero,
    private readonly onIdle: () => void,
  ) {}

  get enabled(): boolean {
    return this.policy.policy === 'on' || this.policy.policy === 'idle'
  }

  get cooldownMs(): number {
    return this.policy.cooldown_time_ms ?? DEFAULT_COOLDOWN_MS
  }

  get openConnections(): number {
    return this.connections
  }

  /** The instance is running: start watching (from now). */
  arm(): void {
    this.armed = true
    this.quietSince = performance.now()
    this.schedule(this.cooldownMs)
  }

  /** The instance is not running (standby, stopping, ...): no decisions until armed again. */
  disarm(): void {
    this.armed = false
    this.clear()
  }

  opened(): void {
    this.connections += 1
    this.quietSince = performance.now()
  }

  closed(): void {
    this.connections = Math.max(0, this.connections - 1)
    this.quietSince = performance.now()
    if (this.connections === 0) this.schedule(this.cooldownMs)
  }

  activity(): void {
    this.quietSince = performance.now()
  }

  private clear(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
  }

  private schedule(ms: number): void {
    if (!this.armed || !this.enabled) return
    if (this.policy.policy === 'on' && this.connections > 0) return
    this.clear()
    this.timer = setTimeout(() => this.check(), Math.max(0, ms))
    this.timer.unref()
  }

  private check(): void {
    this.timer = undefined
    if (!this.armed) return
    if (this.policy.policy === 'on' && this.connections > 0) return // re-armed by the last close
    const remaining = this.cooldownMs - (performance.now() - this.quietSince)
    if (remaining > 0) {
      this.schedule(remaining)
      return
    }
    this.disarm()
    this.onIdle()
  }
}
