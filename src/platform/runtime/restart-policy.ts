// The restart policy's back-off (reference §2.5): immediate, 5 s, 10 s, 20 s, 40 s, then every
// 5 min; the sequence resets after 10 s of healthy running; a manual start or stop aborts it.
import type {RestartPolicy} from '../types.js'

export const RESTART_BACKOFF_MS = [0, 5_000, 10_000, 20_000, 40_000, 300_000] as const
export const HEALTHY_AFTER_MS = 10_000

/** Delay before restart number `attempt` (0 = the first restart of a sequence). */
export function restartDelay(attempt: number): number {
  return RESTART_BACKOFF_MS[Math.min(Math.max(attempt, 0), RESTART_BACKOFF_MS.length - 1)]
}

/** Whether an instance that exited by itself with `exitCode` is restarted under `policy`. */
export function shouldRestart(policy: RestartPolicy, exitCode: number): boolean {
  return policy === 'always' || (policy === 'on-failure' && exitCode !== 0)
}
