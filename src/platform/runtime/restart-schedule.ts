// The timers of the restart policy for one instance: the pending restart (back-off from
// restart-policy.ts) and the healthy period after which the back-off starts over. It only tells its
// owner (the supervisor) when they are due; what happens then is the transition table's business.
import {restartDelay} from './restart-policy.js'

export interface RestartScheduleOptions {
  healthyAfterMs: number
  /** The pending restart is due. */
  due: () => void
  /** The instance has been running for the healthy period. */
  healthy: () => void
}

export class RestartSchedule {
  private restartTimer: NodeJS.Timeout | undefined
  private healthyTimer: NodeJS.Timeout | undefined

  constructor(private readonly options: RestartScheduleOptions) {}

  get pending(): boolean {
    return this.restartTimer !== undefined
  }

  /** Arms restart number `attempt` of the sequence; returns when it will happen. */
  schedule(attempt: number): Date {
    this.cancel()
    const delayMs = restartDelay(attempt)
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined
      this.options.due()
    }, delayMs)
    this.restartTimer.unref()
    return new Date(Date.now() + delayMs)
  }

  cancel(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer)
    this.restartTimer = undefined
  }

  armHealthy(): void {
    this.disarmHealthy()
    this.healthyTimer = setTimeout(() => {
      this.healthyTimer = undefined
      this.options.healthy()
    }, this.options.healthyAfterMs)
    this.healthyTimer.unref()
  }

  disarmHealthy(): void {
    if (this.healthyTimer) clearTimeout(this.healthyTimer)
    this.healthyTimer = undefined
  }

  close(): void {
    this.cancel()
    this.disarmHealthy()
  }
}
