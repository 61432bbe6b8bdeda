// The one interrupt policy of long-running commands (`tunnel`, `instance logs --follow`,
// `local start --foreground`, `local logs --follow`): the first Ctrl-C or SIGTERM (or, when asked,
// standard input closing) asks the work to stop gracefully through an AbortSignal, and the command
// then exits 0 — stopping it is how it is meant to end. A second Ctrl-C/SIGTERM exits at once with
// 130, after giving the registered clean-ups (e.g. deleting a relay) a short, bounded chance.
import {ExitCode} from '../api/index.js'

/** How long clean-ups may take on a forced exit before the process goes anyway. */
export const FORCED_EXIT_BUDGET_MS = 2_000

export interface StopControl {
  /** Aborted on the first stop request; its reason says what asked (e.g. "SIGINT"). */
  readonly signal: AbortSignal
  /** Work that must still happen if the user forces the exit (bounded by FORCED_EXIT_BUDGET_MS). */
  onForcedExit(cleanup: () => Promise<unknown>): void
}

export interface StopControlOptions {
  /** Also stop when standard input closes (the program that started us went away). */
  watchStdin?: boolean
  /** Status lines (stderr). */
  log: (line: string) => void
  signals?: NodeJS.Signals[]
  /** For tests: what a forced exit does (default process.exit). */
  exit?: (code: number) => void
}

/** Runs `work` under the policy above; signal handlers and stdin are released when it settles. */
export async function runUntilStopped<T>(work: (control: StopControl) => Promise<T>, options: StopControlOptions): Promise<T> {
  const signals = options.signals ?? ['SIGINT', 'SIGTERM']
  const exit = options.exit ?? ((code: number) => process.exit(code))
  const stop = new AbortController()
  const cleanups: Array<() => Promise<unknown>> = []
  let forced = false

  const onSignal = (signal: NodeJS.Signals): void => {
    if (!stop.signal.aborted) {
      stop.abort(signal)
      return
    }
    if (forced) return
    forced = true
    options.log(`${signal} again: exiting now`)
    const timer = setTimeout(() => exit(ExitCode.Interrupted), FORCED_EXIT_BUDGET_MS)
    void Promise.allSettled(cleanups.map((cleanup) => cleanup())).then(() => {
      clearTimeout(timer)
      exit(ExitCode.Interrupted)
    })
  }
  const onStdinClosed = (): void => {
    if (stop.signal.aborted) return
    options.log('standard input closed: stopping')
    stop.abort('stdin')
  }

  // One listener per signal, so the name is known even when a test emits the event without it.
  const listeners = signals.map((signal) => [signal, () => onSignal(signal)] as const)
  for (const [signal, listener] of listeners) process.on(signal, listener)
  if (options.watchStdin) {
    process.stdin.once('end', onStdinClosed).once('close', onStdinClosed)
    process.stdin.on('data', () => undefined) // read and drop: only the end matters
    process.stdin.resume()
  }
  try {
    return await work({signal: stop.signal, onForcedExit: (cleanup) => cleanups.push(cleanup)})
  } finally {
    for (const [signal, listener] of listeners) process.off(signal, listener)
    if (options.watchStdin) {
      process.stdin.off('end', onStdinClosed).off('close', onStdinClosed)
      process.stdin.destroy() // an open stdin would keep the process alive
    }
  }
}
