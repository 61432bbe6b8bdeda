// How the WebSocket relay carries a local connection: as a stream of the one multiplexed session,
// or not at all while the relay is unreachable (the listener then refuses it with the reason and
// when the next attempt is due).
import type net from 'node:net'

import type {BackoffPolicy} from '../backoff.js'
import {ResetCode} from '../protocol.js'
import type {CarriedConnection, RelayLink} from '../relay-link.js'
import {type RelayEndpoint, RelayConnection} from './relay-connection.js'

export interface WebSocketLinkOptions {
  /** "host:port" the relay dials, per mapping index. */
  targets: string[]
  endpoint?: RelayEndpoint
  heartbeatMs: number
  backoff?: BackoffPolicy
  recover?: (failures: number, lastError: Error) => Promise<RelayEndpoint | undefined>
  log: (line: string) => void
}

export class WebSocketLink implements RelayLink {
  readonly connection: RelayConnection

  constructor(private readonly options: WebSocketLinkOptions) {
    const {log} = options
    this.connection = new RelayConnection({
      endpoint: options.endpoint,
      heartbeatMs: options.heartbeatMs,
      backoff: options.backoff,
      recover: options.recover,
      log,
      // Resets that come from the relay side say what went wrong for that one connection.
      onStreamClosed: (stream) => {
        if (stream.remoteReset) log(`connection ${stream.id}: ${stream.remoteReset}`)
      },
    })
    this.connection.on('down', (reason, retryIn, holding) =>
      log(`${reason}; ${holding > 0 ? `holding ${holding} open connection(s) to resume them` : 'open connections were reset'}; retrying in ${formatMs(retryIn)}`),
    )
    this.connection.on('resumed', (kept, lost, fresh) =>
      log(
        fresh
          ? `the relay no longer had the tunnel session (it restarted): ${lost} open connection(s) were reset`
          : `tunnel session resumed: ${kept} open connection(s) carry on${lost > 0 ? `, ${lost} reset (the relay had ended them)` : ''}`,
      ),
    )
  }

  /** Connects, retrying while the relay boots, until `deadlineMs` passes or `signal` aborts. */
  async connect(options: {deadlineMs: number; signal?: AbortSignal}, endpoint?: RelayEndpoint): Promise<void> {
    if (endpoint) this.connection.setEndpoint(endpoint)
    await this.connection.connectWithRetry(options)
  }

  carry(socket: net.Socket, index: number): CarriedConnection | string {
    const session = this.connection.session
    const target = this.options.targets[index]
    if (!session || target === undefined) {
      return `relay unreachable (${this.connection.lastFailure ?? 'reconnecting'}), retrying in ${formatMs(this.connection.retryInMs)}`
    }
    const stream = session.openStream(socket, target)
    return {abort: (reason) => stream.abort(ResetCode.IdleTimeout, reason)}
  }

  close(): void {
    this.connection.close()
  }
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`
}
