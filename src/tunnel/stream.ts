// One TCP connection carried as a stream of a multiplexed session: copies socket reads into DATA
// frames and DATA frames into socket writes, with per-stream credit so neither side buffers more than
// its receive window, EOF for half-close and RST for aborts. The same class runs on the client (local
// app socket) and on the relay (target socket, with a receive window reserved from its budget).
import type net from 'node:net'

import {OutgoingData} from './data-batch.js'
import {ResetCode, type StreamWindows, describeReset, encodeEof, encodeRst, encodeWindow} from './protocol.js'

/** What a stream needs from its session. */
export interface StreamSession {
  /** Sends one encoded frame; `done` runs once it has been handed to the kernel (or failed). */
  send(frame: Buffer, done?: (error?: Error) => void): void
  /** True while the WebSocket's own buffer is above its high-water mark. */
  congested(): boolean
  /** Parks a paused stream until the WebSocket buffer drains. */
  waitForDrain(stream: TunnelStream): void
  /** The stream is finished (cleanly or not) and can be forgotten. */
  release(stream: TunnelStream, reason?: string): void
}

/** Where a receive window is reserved (the relay's buffer budget): it may grow, and is given back at the end. */
export interface ReceiveReservation {
  /** Bytes the window of `window` bytes may grow by now (0 when the budget has no room). */
  grow(window: number): number
  release(): void
}

export class TunnelStream {
  private sendCredit: number
  /** What the peer may have outstanding toward us: unflushed + toCredit never exceed it. */
  private receiveWindow: number
  /** Bytes received but not yet flushed to the socket. */
  private unflushed = 0
  /** Bytes flushed to the socket since credit was last returned. */
  private toCredit = 0
  private eofSent = false
  private eofReceived = false
  private resetReceived = false
  private released = false
  private paused = false
  private error?: Error
  /** Set when the peer aborted the stream: why, in words. */
  remoteReset?: string
  /** This turn's reads, sent as one DATA frame at its end. */
  private readonly outgoing: OutgoingData
  private readonly afterDataSent = (error?: Error): void => {
    if (!error && this.paused) this.maybeResume()
  }

  constructor(
    readonly id: number,
    readonly socket: net.Socket,
    private readonly session: StreamSession,
    windows: StreamWindows,
    private readonly reservation?: ReceiveReservation,
  ) {
    this.sendCredit = windows.send
    this.receiveWindow = windows.receive
    this.outgoing = new OutgoingData(id, (frame) => this.session.send(frame, this.afterDataSent))
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => this.onSocketData(chunk))
    socket.on('end', () => this.onSocketEnd())
    socket.on('error', (error) => {
      this.error ??= error
    })
    socket.on('close', () => this.onSocketClose())
  }

  // --- socket → frames ---

  private onSocketData(chunk: Buffer): void {
    // A socket read may be larger than the credit left: send what the peer granted and put the rest
    // back in the socket's buffer, where it waits (in order, before any 'end') for more credit. Above
    // the WebSocket's high-water mark nothing is sent: otherwise every stream readable at that moment
    // would still add one read to the WebSocket's buffer.
    const allowed = this.session.congested() ? 0 : Math.max(0, Math.min(chunk.length, this.sendCredit))
    if (allowed > 0) {
      this.sendCredit -= allowed
      this.outgoing.push(allowed === chunk.length ? chunk : chunk.subarray(0, allowed))
    }
    if (this.sendCredit <= 0 || this.session.congested()) this.pause()
    // Pause first: unshifting into a flowing socket would emit the rest again at once.
    if (allowed < chunk.length) this.socket.unshift(chunk.subarray(allowed))
  }

  private onSocketEnd(): void {
    this.eofSent = true
    this.outgoing.flush()
    this.session.send(encodeEof(this.id))
    // Our read side is done; Node closes the socket once the peer's EOF has ended our write side.
  }

  private onSocketClose(): void {
    if (!this.resetReceived && !(this.eofSent && this.eofReceived)) {
      const reason = this.error ? (this.error as NodeJS.ErrnoException).code ?? this.error.message : 'closed before end of stream'
      this.outgoing.flush()
      this.session.send(encodeRst(this.id, ResetCode.Aborted, reason))
    }
    this.finish(this.error?.message)
  }

  private pause(): void {
    if (this.paused) return
    this.paused = true
    this.socket.pause()
    if (this.sendCredit > 0) this.session.waitForDrain(this)
  }

  /** Called when credit returns or the WebSocket drains. */
  maybeResume(): void {
    if (!this.paused || this.released) return
    if (this.sendCredit <= 0) return
    if (this.session.congested()) {
      this.session.waitForDrain(this)
      return
    }
    this.paused = false
    this.socket.resume()
  }

  // --- frames → socket ---

  onData(data: Buffer): void {
    if (this.released || this.eofReceived) return
    if (this.unflushed + this.toCredit + data.length > this.receiveWindow) {
      this.abort(ResetCode.ProtocolError, 'peer exceeded the stream window')
      return
    }
    this.unflushed += data.length
    const length = data.length
    this.socket.write(data, (error) => {
      this.unflushed -= length
      if (error || this.released) return
      this.toCredit += length
      // Batch credit so a bulk transfer costs one WINDOW frame per quarter window, not per chunk.
      const bulk = this.toCredit >= this.receiveWindow / 4
      if (bulk || this.unflushed === 0) {
        // A stream that moves a quarter of its window at a time may use a larger one, if the budget allows.
        const more = bulk ? (this.reservation?.grow(this.receiveWindow) ?? 0) : 0
        this.receiveWindow += more
        this.session.send(encodeWindow(this.id, this.toCredit + more))
        this.toCredit = 0
      }
    })
  }

  onEof(): void {
    if (this.released || this.eofReceived) return
    this.eofReceived = true
    this.socket.end()
  }

  onReset(code: number, message: string): void {
    if (this.released || this.resetReceived) return
    this.resetReceived = true
    this.outgoing.drop()
    this.remoteReset = describeReset(code, message)
    this.error ??= new Error(this.remoteReset)
    this.resetSocket()
  }

  onWindow(increment: number): void {
    this.sendCredit += increment
    this.maybeResume()
  }

  /** Aborts the stream from this side: RST to the peer, TCP reset to the local socket. */
  abort(code: ResetCode, message: string): void {
    if (this.released || this.resetReceived) return
    this.resetReceived = true // suppress the generic RST of onSocketClose: this one is more precise
    this.outgoing.drop()
    this.error ??= new Error(describeReset(code, message))
    this.session.send(encodeRst(this.id, code, message))
    this.resetSocket()
  }

  /** The session is gone: the local socket gets a reset, nothing is sent. */
  drop(reason: string): void {
    if (this.released || this.resetReceived) return
    this.resetReceived = true
    this.outgoing.drop()
    this.error ??= new Error(reason)
    this.resetSocket()
  }

  get idle(): boolean {
    return this.unflushed === 0
  }

  /** Bytes received for the socket that it has not taken yet. */
  get buffered(): number {
    return this.unflushed
  }

  /** Bytes the peer has sent that we have not credited back yet (at most the receive window). */
  get outstanding(): number {
    return this.unflushed + this.toCredit
  }

  get window(): number {
    return this.receiveWindow
  }

  private resetSocket(): void {
    const socket = this.socket
    if (socket.destroyed) {
      this.finish(this.error?.message)
      return
    }
    // resetAndDestroy sends a TCP RST so the application sees an abort, not a clean EOF.
    const connected = socket.readyState === 'open' || socket.readyState === 'readOnly' || socket.readyState === 'writeOnly'
    if (connected) socket.resetAndDestroy()
    else socket.destroy()
  }

  private finish(reason?: string): void {
    if (this.released) return
    this.released = true
    this.outgoing.drop()
    this.reservation?.release()
    this.session.release(this, reason)
  }
}
