// How the official relay carries a local connection: a fresh TLS connection to the relay's public
// port for that mapping, the cookie, the relay's status, then raw bytes both ways with half-close.
// Beside that, one control connection carries the heartbeat and is redialled with the tunnel's
// back-off when it drops.
import type net from 'node:net'
import type tls from 'node:tls'

import {Backoff, type BackoffPolicy, retryUntil} from '../backoff.js'
import type {CarriedConnection, RelayLink} from '../relay-link.js'
import {type LegacyEndpoint, LegacyHandshakeError, dialRelay, exchangeCookie} from './handshake.js'
import {HEARTBEAT, describeStatus} from './protocol.js'

export interface LegacyLinkOptions {
  endpoint: LegacyEndpoint
  cookie: string
  controlPort: number
  relayName: string
  /** Per mapping index: the relay's public port for it, and what the user typed ("db:5432"). */
  forwards: Array<{exposedPort: number; label: string}>
  heartbeatMs: number
  /** Deadline of each TLS dial and of each cookie exchange. */
  handshakeTimeoutMs: number
  backoff?: BackoffPolicy
  log: (line: string) => void
}

export class LegacyLink implements RelayLink {
  private control?: tls.TLSSocket
  private heartbeatTimer?: NodeJS.Timeout
  private retryTimer?: NodeJS.Timeout
  private readonly backoff: Backoff
  /** Relay connections of carried local connections (also those still in their handshake). */
  private readonly remotes = new Set<tls.TLSSocket>()
  /** Set once the control connection is open: the relay runs and knows our cookie. */
  private connected = false
  private closed = false

  constructor(private readonly options: LegacyLinkOptions) {
    this.backoff = new Backoff(options.backoff)
  }

  /** Opens the control connection, retrying until `deadlineMs` passes or `signal` aborts. */
  async connect(options: {deadlineMs: number; signal?: AbortSignal}): Promise<void> {
    const until = Date.now() + options.deadlineMs
    await retryUntil(() => this.openControl(Math.max(1, Math.min(until - Date.now(), this.options.handshakeTimeoutMs))), {
      deadlineMs: options.deadlineMs,
      backoff: this.backoff,
      signal: options.signal,
      isFinal: () => this.closed,
    })
    this.connected = true
  }

  carry(local: net.Socket, index: number): CarriedConnection | string {
    const forward = this.options.forwards[index]
    if (this.closed || !forward) return 'the tunnel is closing'
    if (!this.connected) return 'the relay is not connected yet'
    local.pause()
    let remote: tls.TLSSocket | undefined
    const teardown = (): void => {
      remote?.destroy()
      local.destroy()
    }
    void this.bridge(local, forward, (socket) => (remote = socket), teardown)
    return {
      abort: (reason) => {
        this.options.log(`closing the connection to ${forward.label}: ${reason}`)
        teardown()
      },
    }
  }

  close(): void {
    this.closed = true
    clearInterval(this.heartbeatTimer)
    clearTimeout(this.retryTimer)
    this.control?.destroy()
    this.control = undefined
    for (const remote of this.remotes) remote.destroy()
  }

  private async openControl(timeoutMs: number): Promise<void> {
    const {endpoint, controlPort, cookie} = this.options
    const socket = await dialRelay(endpoint, controlPort, timeoutMs)
    if (this.closed) {
      socket.destroy()
      throw new LegacyHandshakeError('the tunnel was closed')
    }
    // The relay never answers on this port; a close is all we can observe.
    socket.write(Buffer.concat([Buffer.from(cookie), HEARTBEAT]))
    socket.on('data', () => undefined)
    socket.on('error', () => undefined)
    socket.once('close', () => this.controlDropped(socket))
    this.control = socket
    this.backoff.reset()
    clearInterval(this.heartbeatTimer)
    this.heartbeatTimer = setInterval(() => socket.write(HEARTBEAT), this.options.heartbeatMs)
  }

  private controlDropped(socket: tls.TLSSocket): void {
    if (this.control !== socket) return
    this.control = undefined
    clearInterval(this.heartbeatTimer)
    this.scheduleControl('control connection to the relay closed')
  }

  private scheduleControl(why: string): void {
    if (this.closed) return
    const delay = this.backoff.next()
    this.options.log(`${why}; reconnecting in ${(delay / 1000).toFixed(1)} s (the relay stops when heartbeats stay missing)`)
    this.retryTimer = setTimeout(() => {
      this.openControl(this.options.handshakeTimeoutMs).catch((error: Error) => this.scheduleControl(`control connection: ${error.message}`))
    }, delay)
  }

  private async bridge(local: net.Socket, forward: {exposedPort: number; label: string}, adopt: (remote: tls.TLSSocket) => void, teardown: () => void): Promise<void> {
    const {handshakeTimeoutMs, log, endpoint, cookie, relayName} = this.options
    let remote: tls.TLSSocket | undefined
    try {
      remote = await dialRelay(endpoint, forward.exposedPort, handshakeTimeoutMs)
      this.remotes.add(remote)
      remote.once('close', () => remote && this.remotes.delete(remote))
      adopt(remote)
      if (this.closed) throw new LegacyHandshakeError('the tunnel is closing')
      const {status, rest} = await exchangeCookie(remote, cookie, handshakeTimeoutMs)
      if (status <= 0) throw new LegacyHandshakeError(describeStatus(status, relayName), status)
      if (local.destroyed) {
        remote.destroy()
        return
      }
      if (rest.length > 0) local.write(rest)
    } catch (error) {
      remote?.destroy()
      if (!local.destroyed) log(`connection to ${forward.label} from ${local.remoteAddress ?? '?'}:${local.remotePort ?? '?'} failed: ${(error as Error).message}`)
      local.resetAndDestroy()
      return
    }
    const peer = remote
    peer.once('error', teardown).once('close', () => (local.writableEnded ? local.destroySoon() : local.destroy()))
    local.once('error', teardown).once('close', () => (peer.writableEnded ? peer.destroySoon() : peer.destroy()))
    // pipe() ends the other side on 'end': each direction's FIN is passed on, the other keeps flowing.
    local.pipe(peer)
    peer.pipe(local)
  }
}
