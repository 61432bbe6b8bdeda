// The strategy the tunnel's run loop is given: a relay flavour says how its relay instance is
// created, how the client connects to it, and how one accepted local connection is carried to it.
// Two flavours exist: the WebSocket relay (websocket/) and the official `utils/tunnel` relay (legacy/).
import type net from 'node:net'

import type {ResolvedMapping} from './mappings.js'
import type {RelayInstance} from './relay-instance.js'

/** A local connection a link carries; the listeners abort it after --idle-timeout. */
export interface CarriedConnection {
  abort(reason: string): void
}

/** What the listeners need: carry a connection accepted for mapping `index`, or say why not. */
export interface RelayLink {
  carry(socket: net.Socket, index: number): CarriedConnection | string
}

/** A created relay and the link to it, for one run. */
export interface OpenRelay extends RelayLink {
  /** The relay to delete at the end (a flavour may replace one that disappeared). */
  readonly relay: RelayInstance
  readonly image: string
  /** Resolves once local connections can be carried; rejects with a typed error, or when `signal` aborts. */
  connect(options: {deadlineMs: number; signal: AbortSignal}): Promise<void>
  /** Stops carrying and reconnecting (open connections are the listeners' to reset). */
  close(): void
}

export interface RelayFlavour {
  /** Creates the relay instance that serves `targets` (in mapping order). */
  open(targets: ResolvedMapping[]): Promise<OpenRelay>
}
