// One TCP connection carried as a stream of a multiplexed session: copies socket reads into DATA
// frames and DATA frames into socket writes, with per-stream credit so neither side buffers more than
// its receive window, EOF for half-close and RST for aborts. The same class runs on the client (local
// app socket) and on the relay (target socket, with a receive window reserved from its budget).
// In a resumable (v3) session it also keeps what it sent until the peer acknowledges it, so that after
// a dropped WebSocket it sends again exactly what the peer is missing (resumeFrom).
// Longer than ~350 lines: both directions, their credit and the resume replay share one stream's state
// (the bytes received, granted and acknowledged); split apart, each half would reach into the other.
import type net from 'node:net'

import {OutgoingData} from './data-batch.js'
import {type ResumeEntry, ResetCode, type StreamWindows, describeReset, encodeData, encodeEof, encodeRst, encodeWindow} from './protocol.js'
import {ReplayBuffer} from './replay-buffer.js'

/**
 * Credit below this many bytes (and below a quarter of the window) waits up to CREDIT_DELAY_MS before
 * its WINDOW frame, as TCP delays its acks. Held back, it leaves the peer three quarters of its window,
 * and at least 3 KiB of the relay's first replay window (OPEN_CREDIT, 4 KiB): the peer never stalls.
 */
const SMALL_CREDIT_BYTES = 1024
const CREDIT_DELAY_MS = 20

/** What a stream needs from its session. */
export interface StreamSession {
  /** Sends one encoded frame; `done` runs once it has been handed to the kernel (or failed). */
  send(frame: Buffer, done?: (error?: Error) => void): void
  /** True while the WebSocket's own buffer is above its high-water mark. */
  congested(): boolean
  /** Parks a paused stream until the WebSocket buffer drains (or a detached session is resumed). */
  waitForDrain(stream: TunnelStream): void
  /** False while a resumable session has no WebSocket (detached) or is resuming: EOF then waits for the resume. */
  carrying(): boolean
  /** The stream is finished (cleanly or not) and can be forgotten. */
  release(stream: TunnelStream, reason?: string): void
}

/** Where a receive window is reserved (the relay's buffer budget): it may grow, and is given back at the end. */
export interface ReceiveReservation {
  /** Bytes the window of `window` bytes may grow by now (0 when the budget has no room). */
  grow(window: number): number
  release(): void
}

/** A resumable stream's options: replay what the peer misses, within a send window reserved from a budget. */
export interface StreamResumeOptions {
  /** Bounds the bytes kept for a resend (the relay's replay budget); unbounded beyond credit without it. */
  sendReservation?: ReceiveReservation
  /** The first bound, when there is a sendReservation. */
  sendWindow?: number
}

export class TunnelStream {
  private sendCredit: number
  /** Credit this side has ever granted the peer (first window + every increment): what RESUME reports. */
  private granted: number
  /** Stream position received (bytes, EOF as one). */
  private received = 0
  private readonly replay?: ReplayBuffer
  /** At most this many unacknowledged bytes (the relay's replay budget), when set. */
  private sendWindow?: number
  /** The send window, not credit, stopped the last send: the next acknowledgement may grow it. */
  private sendWindowFull = false
  /** The socket is done but the peer has not acknowledged all we sent: kept for a resume until it does. */
  private lingering = false
  /** What the peer may have outstanding toward us: unflushed + toCredit never exceed it. */
  private receiveWindow: number
  /** Bytes received but not yet flushed to the socket. */
  private unflushed = 0
  /** Bytes flushed to the socket since credit was last returned. */
  private toCredit = 0
  /** Returns small credit a moment after the last write (returnHeldCredit). */
  private creditTimer?: NodeJS.Timeout
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
  private readonly sendReservation?: ReceiveReservation

  constructor(
    readonly id: number,
    readonly socket: net.Socket,
    private readonly session: StreamSession,
    windows: StreamWindows,
    private readonly reservation?: ReceiveReservation,
    resume?: StreamResumeOptions,
  ) {
    this.sendCredit = windows.send
    this.receiveWindow = windows.receive
    this.outgoing = new OutgoingData(id, (frame) => this.session.send(frame, this.afterDataSent))
    this.granted = windows.receive
    if (resume) {
      this.replay = new ReplayBuffer()
      this.sendReservation = resume.sendReservation
      this.sendWindow = resume.sendReservation ? resume.sendWindow : undefined
    }
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
    const allowed = this.session.congested() ? 0 : Math.max(0, Math.min(chunk.length, this.sendRoom()))
    if (allowed > 0) {
      const piece = allowed === chunk.length ? chunk : chunk.subarray(0, allowed)
      this.sendCredit -= allowed
      this.replay?.push(piece)
      this.outgoing.push(piece)
    }
    if (this.sendRoom() <= 0 || this.session.congested()) this.pause()
    // Pause first: unshifting into a flowing socket would emit the rest again at once.
    if (allowed < chunk.length) this.socket.unshift(chunk.subarray(allowed))
  }

  private onSocketEnd(): void {
    this.eofSent = true
    this.outgoing.flush()
    this.replay?.pushEof()
    // Detached or resuming: the EOF goes out after the resent bytes (resumeFrom).
    if (!this.replay || this.session.carrying()) this.session.send(encodeEof(this.id))
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
    if (this.sendRoom() > 0) this.session.waitForDrain(this)
  }

  /** Bytes this stream may send now: its credit, and in a resumable session on the relay its send window. */
  private sendRoom(): number {
    if (this.sendWindow === undefined || !this.replay) return this.sendCredit
    const room = this.sendWindow - this.replay.held
    this.sendWindowFull = room <= 0 && this.sendCredit > 0
    return Math.min(this.sendCredit, room)
  }

  /** Called when credit returns or the WebSocket drains. */
  maybeResume(): void {
    if (!this.paused || this.released) return
    if (this.sendRoom() <= 0) return
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
    this.received += data.length
    const length = data.length
    this.socket.write(data, (error) => {
      this.unflushed -= length
      if (error || this.released) return
      this.toCredit += length
      // Batch credit so a bulk transfer costs one WINDOW frame per quarter window, not per chunk.
      const bulk = this.toCredit >= this.receiveWindow / 4
      if (bulk) this.returnCredit(true)
      else if (this.unflushed === 0) {
        // Everything is written: return credit now when it is worth a frame, else a moment later,
        // so that request/response traffic does not answer every small message with a WINDOW.
        if (this.toCredit >= SMALL_CREDIT_BYTES) this.returnCredit(false)
        else this.creditTimer ??= setTimeout(this.returnHeldCredit, CREDIT_DELAY_MS)
      }
    })
  }

  private readonly returnHeldCredit = (): void => {
    this.creditTimer = undefined
    if (!this.released && this.toCredit > 0) this.returnCredit(false)
  }

  /** Sends the credit (and, in v3, the acknowledgement) held so far; `grow` may enlarge the window. */
  private returnCredit(grow: boolean): void {
    if (this.creditTimer) clearTimeout(this.creditTimer)
    this.creditTimer = undefined
    // A stream that moves a quarter of its window at a time may use a larger one, if the budget allows.
    const more = grow ? (this.reservation?.grow(this.receiveWindow) ?? 0) : 0
    this.receiveWindow += more
    this.granted += this.toCredit + more
    this.session.send(encodeWindow(this.id, this.toCredit + more, this.replay ? this.received : undefined))
    this.toCredit = 0
  }

  onEof(): void {
    if (this.released || this.eofReceived) return
    this.eofReceived = true
    this.received += 1
    // Acknowledge the EOF (and every byte before it) at once: the peer may be keeping them for a resume.
    if (this.replay) this.session.send(encodeWindow(this.id, 0, this.received))
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

  onWindow(increment: number, acknowledged?: number): void {
    this.sendCredit += increment
    if (acknowledged !== undefined && this.replay) {
      if (acknowledged > this.replay.end) {
        this.abort(ResetCode.ProtocolError, `peer acknowledged ${acknowledged} bytes of ${this.replay.end} sent`)
        return
      }
      const freed = this.replay.acknowledge(acknowledged)
      // A stream that its send window stopped may use a larger one, if the relay's replay budget allows.
      if (freed > 0 && this.sendWindowFull && this.sendWindow !== undefined && this.sendReservation) {
        this.sendWindow += this.sendReservation.grow(this.sendWindow)
        this.sendWindowFull = false
      }
      if (this.lingering && this.replay.settled) this.finish(this.error?.message)
    }
    this.maybeResume()
  }

  /** Where this stream stands, for a SESSION or RESUME frame. */
  resumeEntry(): ResumeEntry {
    return {stream: this.id, received: this.received, granted: this.granted}
  }

  /** True while the stream is kept only for the peer to acknowledge its end (its socket is closed). */
  get closing(): boolean {
    return this.lingering
  }

  /**
   * After a resume: the peer has received `received` of this stream and granted `granted` credit in
   * all. Sends again what it misses (bytes, then the EOF), in order, and carries on from there.
   */
  resumeFrom(received: number, granted: number): void {
    const replay = this.replay
    if (this.released || !replay) return
    if (received > replay.end || granted < Math.min(received, replay.sent)) {
      this.abort(ResetCode.ProtocolError, `peer resumed at ${received} bytes (granted ${granted}) of ${replay.end} sent`)
      return
    }
    const missing = replay.since(received)
    // This turn's unsent reads are in the replay too: sent once, from there, in order.
    this.outgoing.discard()
    // Credit as if every WINDOW had arrived: what the peer granted minus what it will have received.
    this.sendCredit = granted - replay.sent
    for (const chunk of missing.chunks) this.session.send(encodeData(this.id, chunk))
    if (missing.eof) this.session.send(encodeEof(this.id))
    if (this.lingering && replay.settled) this.finish(this.error?.message)
    else this.maybeResume()
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

  /** Bytes sent and kept until the peer acknowledges them (v3; at most the send window or credit). */
  get unacknowledged(): number {
    return this.replay?.held ?? 0
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
    // Both sides ended cleanly, but our last bytes or EOF may be lost with a dropping WebSocket: keep
    // the stream (without its socket) until the peer acknowledges them, or the session ends.
    if (this.replay && !this.replay.settled && this.eofSent && this.eofReceived && !this.resetReceived) {
      this.lingering = true
      return
    }
    this.lingering = false
    this.released = true
    if (this.creditTimer) clearTimeout(this.creditTimer)
    this.creditTimer = undefined
    this.outgoing.drop()
    this.sendReservation?.release()
    this.reservation?.release()
    this.session.release(this, reason)
  }
}
