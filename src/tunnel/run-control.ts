// What ends one run of `ukc tunnel`, shared by the modern and the legacy path: the first Ctrl-C or
// SIGTERM (or stdin closing, with --watch-stdin) asks for a graceful stop; a second one exits at once
// (130) after giving the relay deletion a short chance. On the way out the relay is deleted.
import {type UkcClient, UsageError} from '../api/index.js'
import {type RelayInstance, deleteRelay} from './relay-instance.js'

const HARD_EXIT_DELETE_BUDGET_MS = 2_000

export interface RunControlOptions {
  api: UkcClient
  log: (line: string) => void
  signals: NodeJS.Signals[]
  watchStdin?: boolean
  /** Called on the first stop request, e.g. to abandon a connection attempt still under way. */
  onStop?: () => void
}

export class RunControl {
  stopping = false
  /** Resolves on the first stop request. */
  readonly stopped: Promise<void>
  /** The relay of this run, deleted by `finish` (and on a hard exit). */
  relay?: RelayInstance
  private wake!: () => void

  constructor(private readonly options: RunControlOptions) {
    this.stopped = new Promise<void>((resolve) => (this.wake = resolve))
    for (const s of options.signals) process.on(s, this.onSignal)
    if (options.watchStdin) {
      process.stdin.once('end', this.onStdinClosed).once('close', this.onStdinClosed)
      process.stdin.on('data', () => undefined) // read and drop: only the end matters
      process.stdin.resume()
    }
  }

  /** Serves until the first stop request, then lets open connections finish for up to `drainMs`. */
  async serveUntilStopped(tunnel: {openConnections: number; close(drainMs: number): Promise<void>}, drainMs: number): Promise<'interrupted'> {
    await this.stopped
    this.options.log(`stopping: waiting up to ${Math.round(drainMs / 1000)} s for ${tunnel.openConnections} open connection(s); press Ctrl-C again to exit now`)
    await tunnel.close(drainMs)
    return 'interrupted'
  }

  /** Deletes the relay (a failure is only logged: it stops by itself once heartbeats are missing) and lets go of signals and stdin. */
  async finish(progress: (text: string) => void): Promise<void> {
    if (this.relay) {
      const gone = this.relay
      progress(`deleting the relay instance ${gone.name}`)
      await deleteRelay(this.options.api, gone.uuid).catch((error: Error) =>
        this.options.log(`could not delete the relay ${gone.name} (${gone.uuid}): ${error.message}; it stops by itself once heartbeats are missing`),
      )
      progress('')
    }
    for (const s of this.options.signals) process.off(s, this.onSignal)
    if (this.options.watchStdin) {
      process.stdin.off('end', this.onStdinClosed).off('close', this.onStdinClosed)
      process.stdin.destroy() // an open stdin would keep the process alive
    }
  }

  private readonly onSignal = (signal: NodeJS.Signals): void => {
    if (this.stopping) {
      this.options.log(`${signal} again: exiting now`)
      const exit = (): never => process.exit(130)
      const pending = this.relay ? deleteRelay(this.options.api, this.relay.uuid).catch(() => undefined) : Promise.resolve()
      const timer = setTimeout(exit, HARD_EXIT_DELETE_BUDGET_MS)
      void pending.then(exit, exit).finally(() => clearTimeout(timer))
      return
    }
    this.stopping = true
    this.options.onStop?.()
    this.wake()
  }

  private readonly onStdinClosed = (): void => {
    if (this.stopping) return
    this.options.log('standard input closed: stopping')
    this.onSignal('SIGTERM')
  }
}

/** A listener that cannot bind, as one line with a hint. */
export function listenError(error: NodeJS.ErrnoException, bind: string): Error {
  const where = `${bind.includes(':') ? `[${bind}]` : bind}:${(error as {port?: number}).port ?? '?'}`
  if (error.code === 'EADDRINUSE') return new UsageError(`cannot listen on ${where}: the port is already in use`, 'pick another LOCAL_PORT, or 0 for a free one')
  if (error.code === 'EACCES') return new UsageError(`cannot listen on ${where}: permission denied`, 'use a LOCAL_PORT above 1023')
  if (error.code === 'EADDRNOTAVAIL') return new UsageError(`cannot listen on ${bind}: no such local address`, 'check --bind')
  return error
}
