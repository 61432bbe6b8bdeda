// The client half of a tunnel: local listeners for every mapping, one relay connection shared by all,
// and an orderly shutdown (stop accepting, let streams finish within a bound, close with 1000).
import {EventEmitter} from 'node:events'

import {type RelayEndpoint, RelayConnection, type RelayHandshakeError} from './relay-connection.js'
import {TunnelListener} from './listener.js'

export interface ForwardSpec {
  bind: string
  /** 0 = any free port. */
  localPort: number
  /** "host:port" the relay dials. */
  target: string
  /** What the user typed, e.g. "db:5432". */
  label: string
}

export interface TunnelClientOptions {
  /** May be given later to connect(): listeners can bind before the relay exists. */
  endpoint?: RelayEndpoint
  forwards: ForwardSpec[]
  heartbeatMs: number
  idleTimeoutMs?: number
  maxBackoffMs?: number
  recover?: (failures: number, lastError: Error) => Promise<RelayEndpoint | undefined>
  log: (line: string) => void
}

export interface ActiveForward {
  /** "127.0.0.1:15432" */
  local: string
  port: number
  target: string
  label: string
}

export interface TunnelClientEvents {
  fatal: [error: RelayHandshakeError]
}

export class TunnelClient extends EventEmitter<TunnelClientEvents> {
  readonly relay: RelayConnection
  private localListeners: TunnelListener[] = []
  private specs: ForwardSpec[] = []

  constructor(private readonly options: TunnelClientOptions) {
    super()
    this.relay = new RelayConnection({
      endpoint: options.endpoint,
      heartbeatMs: options.heartbeatMs,
      maxBackoffMs: options.maxBackoffMs,
      recover: options.recover,
      log: options.log,
      // Resets that come from the relay side say what went wrong for that one connection.
      onStreamClosed: (stream) => {
        if (stream.remoteReset) options.log(`connection ${stream.id}: ${stream.remoteReset}`)
      },
    })
    this.relay.on('down', (reason, retryIn) => options.log(`${reason}; open connections were reset; retrying in ${formatMs(retryIn)}`))
    this.relay.on('fatal', (error) => this.emit('fatal', error))
    this.setForwards(options.forwards)
  }

  /** Replaces the mappings; only before listen(). */
  setForwards(forwards: ForwardSpec[]): void {
    const options = this.options
    this.specs = forwards
    this.localListeners = forwards.map(
      (forward) =>
        new TunnelListener({
          bind: forward.bind,
          port: forward.localPort,
          target: forward.target,
          label: forward.label,
          session: () => this.relay.session,
          unavailable: () => `relay unreachable (${this.relay.lastFailure ?? 'reconnecting'}), retrying in ${formatMs(this.relay.retryInMs)}`,
          idleTimeoutMs: options.idleTimeoutMs,
          log: options.log,
        }),
    )
  }

  /** Binds every listener (fails fast, e.g. port in use) without contacting the relay. */
  async listen(): Promise<ActiveForward[]> {
    try {
      for (const listener of this.localListeners) await listener.listen()
    } catch (error) {
      await Promise.all(this.localListeners.map((l) => l.stopAccepting()))
      throw error
    }
    return this.forwards()
  }

  /** Connects to the relay, retrying for up to `deadlineMs` (the relay may still be booting). */
  async connect(deadlineMs = 30_000, endpoint?: RelayEndpoint): Promise<void> {
    if (endpoint) this.relay.setEndpoint(endpoint)
    await this.relay.connectWithRetry(deadlineMs)
  }

  forwards(): ActiveForward[] {
    return this.localListeners.map((listener, i) => {
      const forward = this.specs[i] as ForwardSpec
      return {local: listener.address, port: listener.port, target: forward.target, label: forward.label}
    })
  }

  get openConnections(): number {
    return this.localListeners.reduce((n, l) => n + l.openConnections, 0)
  }

  /** Stop accepting, wait up to `drainMs` for open connections to end, then close everything. */
  async close(drainMs = 5_000): Promise<void> {
    await Promise.all(this.localListeners.map((l) => l.stopAccepting()))
    const until = Date.now() + drainMs
    while (this.openConnections > 0 && Date.now() < until && this.relay.session) {
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
    this.relay.close()
    for (const listener of this.localListeners) listener.destroyAll()
  }
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`
}

