// A multiplexed tunnel session: one WebSocket carrying many TunnelStreams. Owns the stream ids (each
// OPEN's id above every earlier one, so none is ever reused), dispatches frames by stream id, owns the
// WebSocket-level high-water mark (ws has no 'drain' event: send callbacks tell us when the buffer
// shrinks) and resets every stream when the WebSocket goes away — unless the session is resumable
// (ukc-tunnel.v3): then a WebSocket that drops detaches the session, its streams wait (sockets paused),
// and a new WebSocket resumes it (reattach): both sides exchange where each stream stands and send
// again what the other is missing. States (one owner: `state`):
//
//   attached ──WebSocket dropped (v3)──▶ detached ──reattach(ws)──▶ resuming ──SESSION/RESUME──▶ attached
//      │                                   │  ▲                       │
//      │                                   │  └──WebSocket dropped────┘
//      └──closed / dropped (v1, v2)──▶ closed ◀──close() (grace over, relay gone)
import type net from 'node:net'

import type WebSocket from 'ws'

import {
  CloseCode,
  DEFAULT_WINDOW,
  type Frame,
  FrameError,
  FrameType,
  ResetCode,
  type ResumeEntry,
  SUBPROTOCOL_V3,
  type StreamWindows,
  decodeFrame,
  droppedClose,
  encodeOpen,
  encodeResume,
  encodeRst,
  encodeSession,
  openerWindows,
} from './protocol.js'
import {type Opening, type ResumingSide, resumeAtClient, resumeAtRelay} from './resume.js'
import {type ReceiveReservation, type StreamResumeOptions, type StreamSession, TunnelStream} from './stream.js'

export type SessionState = 'attached' | 'detached' | 'resuming' | 'closed'


/** Above this many bytes queued in the WebSocket, streams stop reading their sockets (the client's default). */
export const SESSION_HIGH_WATER = 4 * 1024 * 1024

export interface SessionEvents {
  /** Relay side: the peer asked for a new stream. */
  onOpen?: (frame: Extract<Frame, {type: typeof FrameType.Open}>) => void
  /** A stream finished; `reason` is set when it did not end cleanly. */
  onStreamClosed?: (stream: TunnelStream, reason?: string) => void
  /** Any frame or pong arrived (liveness). */
  onActivity?: () => void
  /** A resumable session lost its WebSocket: its streams wait for reattach() or close(). */
  onDetached?: () => void
  /**
   * A resume finished: `kept` streams carry on, `lost` were reset (the other side no longer had them);
   * `fresh`: the relay did not have the session at all (it restarted), so every held stream was lost.
   */
  onResumed?: (kept: number, lost: number, fresh: boolean) => void
}

export interface SessionOptions {
  /** Bytes queued in the WebSocket above which streams stop reading (resuming below a quarter of it). */
  highWater?: number
  /**
   * The relay's side of a v3 session: its id (sent in the SESSION frame). A client session has none
   * until the relay's SESSION frame names it.
   */
  relaySessionId?: string
}

export class MuxSession implements StreamSession {
  private readonly streams = new Map<number, TunnelStream>()
  private readonly drainWaiters = new Set<TunnelStream>()
  /** Client side of a v3 session: OPEN frames to send again for streams the relay may not have seen. */
  private readonly openings = new Map<number, Opening>()
  private nextId = 1
  /** The highest id the peer has opened: an OPEN must go above it. */
  private lastOpened = 0
  private state: SessionState = 'attached'
  private current: WebSocket
  /** The v3 session id; undefined for v1/v2 (and for a v3 client until the relay's SESSION frame). */
  sessionId?: string
  readonly resumable: boolean
  private readonly side: 'client' | 'relay'
  private readonly highWater: number
  private readonly lowWater: number
  /** Why the session ended, once it has. */
  closeReason?: string
  private readonly afterSend = (): void => {
    if (this.drainWaiters.size > 0 && this.ws.bufferedAmount <= this.lowWater) this.releaseWaiters()
  }

  constructor(
    ws: WebSocket,
    private readonly events: SessionEvents = {},
    options: SessionOptions = {},
  ) {
    this.highWater = options.highWater ?? SESSION_HIGH_WATER
    this.lowWater = this.highWater / 4
    this.current = ws
    this.resumable = ws.protocol === SUBPROTOCOL_V3
    this.side = options.relaySessionId ? 'relay' : 'client'
    this.sessionId = options.relaySessionId
    this.bind(ws)
    if (this.resumable && this.side === 'relay') this.send(encodeSession(options.relaySessionId as string, false, 0, []))
  }

  /** The current WebSocket (a resumed session has had several). */
  get ws(): WebSocket {
    return this.current
  }

  get size(): number {
    return this.streams.size
  }

  get phase(): SessionState {
    return this.state
  }

  get open(): boolean {
    return this.state === 'attached' && this.current.readyState === this.current.OPEN
  }

  /** Client side: carry `socket` to `target` ("host:port") as a new stream. */
  openStream(socket: net.Socket, target: string, window = DEFAULT_WINDOW): TunnelStream {
    const id = this.nextId++
    const frame = encodeOpen(id, window, target)
    this.send(frame)
    const windows = openerWindows(this.ws.protocol, window)
    if (this.resumable) this.openings.set(id, {frame, send: windows.send})
    return this.attach(id, socket, windows)
  }

  /** Relay side: adopt the socket dialled for an OPEN frame (`resume`: its send window, in a v3 session). */
  attach(id: number, socket: net.Socket, windows: StreamWindows, reservation?: ReceiveReservation, resume?: StreamResumeOptions): TunnelStream {
    const stream = new TunnelStream(id, socket, this, windows, reservation, this.resumable ? (resume ?? {}) : undefined)
    this.streams.set(id, stream)
    return stream
  }

  /**
   * A detached (or resuming) session gets a new WebSocket. The relay sends where its streams stand
   * (SESSION, resumed) and waits for the client's RESUME; the client waits for that SESSION frame.
   */
  reattach(ws: WebSocket): void {
    if (this.state === 'closed') throw new Error('the session is closed')
    const old = this.current
    this.current = ws
    this.state = 'resuming'
    this.bind(ws)
    if (old !== ws && (old.readyState === old.OPEN || old.readyState === old.CONNECTING)) old.close(CloseCode.Replaced, 'resumed on a newer connection')
    if (this.side === 'relay') this.send(encodeSession(this.sessionId as string, true, this.lastOpened, this.entries()))
  }

  /** Relay side: answers an OPEN with RST and keeps nothing of it. */
  refuse(id: number, code: ResetCode, message: string): void {
    this.send(encodeRst(id, code, message))
  }

  /** Bytes received for this session's sockets that they have not taken yet. */
  get bufferedBytes(): number {
    let total = 0
    for (const stream of this.streams.values()) total += stream.buffered
    return total
  }

  /** Bytes this side sent on its streams and keeps until the peer acknowledges them (v3). */
  get unacknowledgedBytes(): number {
    let total = 0
    for (const stream of this.streams.values()) total += stream.unacknowledged
    return total
  }

  /** Bytes the peer has sent on this session's streams that were not credited back yet. */
  get outstandingBytes(): number {
    let total = 0
    for (const stream of this.streams.values()) total += stream.outstanding
    return total
  }

  send(frame: Buffer, done?: (error?: Error) => void): void {
    if (this.state === 'detached' || this.state === 'closed' || this.ws.readyState !== this.ws.OPEN) {
      done?.(new Error('tunnel connection is closed'))
      return
    }
    this.ws.send(frame, (error) => {
      done?.(error)
      this.afterSend()
    })
  }

  congested(): boolean {
    return this.state !== 'attached' || this.ws.bufferedAmount > this.highWater
  }

  carrying(): boolean {
    return this.state === 'attached'
  }

  waitForDrain(stream: TunnelStream): void {
    this.drainWaiters.add(stream)
  }

  release(stream: TunnelStream, reason?: string): void {
    if (this.streams.get(stream.id) === stream) this.streams.delete(stream.id)
    this.openings.delete(stream.id)
    this.drainWaiters.delete(stream)
    this.events.onStreamClosed?.(stream, reason)
  }

  /** Resets every stream and closes the WebSocket (for good: a closed session does not resume). */
  close(code: number = CloseCode.Normal, reason = ''): void {
    this.closeReason ??= reason || undefined
    this.shutdown(reason || 'tunnel closed')
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.close(code, reason)
  }

  /** Handlers for one WebSocket; a replaced one's late events are ignored. */
  private bind(ws: WebSocket): void {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (ws === this.current) this.onMessage(data, isBinary)
    })
    ws.on('close', (code: number) => {
      if (ws !== this.current || this.state === 'closed') return
      if (this.resumable && this.sessionId !== undefined && droppedClose(code)) {
        this.state = 'detached'
        this.events.onDetached?.()
        return
      }
      this.shutdown('tunnel connection lost')
    })
  }

  private entries(): ResumeEntry[] {
    return [...this.streams.values()].map((stream) => stream.resumeEntry())
  }

  /** The relay's SESSION frame: names a fresh session, or answers a resume with where its streams stand. */
  private onSession(frame: Extract<Frame, {type: typeof FrameType.Session}>): void {
    if (this.side === 'relay') throw new FrameError('SESSION frame from the client')
    if (this.state !== 'resuming' || !frame.resumed || frame.id !== this.sessionId) {
      // A fresh session: the relay does not know ours (it restarted), so what we held is lost.
      const lost = this.state === 'resuming' ? this.streams.size : 0
      if (lost > 0) this.dropAll('the relay no longer had this tunnel session (it restarted)')
      this.sessionId = frame.id
      // The relay took back a session this side gave up while dialling: only the streams opened since are ours.
      if (frame.resumed) this.send(encodeResume(this.entries()))
      this.finishResume(0, lost, true)
      return
    }
    const {kept, lost} = resumeAtClient(this.resumingSide(), this.openings, frame.entries, frame.lastOpened)
    this.finishResume(kept, lost)
  }

  /** The client's RESUME frame: where its streams stand; streams it does not list are gone. */
  private onResume(frame: Extract<Frame, {type: typeof FrameType.Resume}>): void {
    if (this.side === 'client' || this.state !== 'resuming') throw new FrameError('unexpected RESUME frame')
    const {kept, lost} = resumeAtRelay(this.resumingSide(), frame.entries)
    this.finishResume(kept, lost)
  }

  private resumingSide(): ResumingSide {
    return {streams: this.streams, send: (frame) => this.send(frame)}
  }

  private finishResume(kept: number, lost: number, fresh = false): void {
    const wasResuming = this.state === 'resuming'
    this.state = 'attached'
    if (wasResuming) this.events.onResumed?.(kept, lost, fresh)
    this.releaseWaiters()
  }

  private dropAll(reason: string): void {
    for (const stream of [...this.streams.values()]) stream.drop(reason)
    this.drainWaiters.clear()
  }

  private releaseWaiters(): void {
    const waiting = [...this.drainWaiters]
    this.drainWaiters.clear()
    for (const stream of waiting) stream.maybeResume()
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    this.events.onActivity?.()
    let frame: Frame
    try {
      if (!isBinary) throw new FrameError('text message')
      frame = decodeFrame(data)
    } catch (error) {
      this.close(CloseCode.ProtocolError, (error as Error).message)
      return
    }
    if (frame.type === FrameType.Session || frame.type === FrameType.Resume) {
      try {
        if (frame.type === FrameType.Session) this.onSession(frame)
        else this.onResume(frame)
      } catch (error) {
        this.close(CloseCode.ProtocolError, (error as Error).message)
      }
      return
    }
    if (frame.type === FrameType.Open) {
      if (frame.stream <= this.lastOpened) {
        this.close(CloseCode.ProtocolError, `stream id ${frame.stream} reused (ids must increase; the last was ${this.lastOpened})`)
        return
      }
      this.lastOpened = frame.stream
      this.events.onOpen?.(frame)
      return
    }
    const stream = this.streams.get(frame.stream)
    // Frames for a finished stream are normal (they crossed our RST on the wire): drop them.
    if (!stream) return
    switch (frame.type) {
      case FrameType.Data:
        stream.onData(frame.data)
        break
      case FrameType.Eof:
        stream.onEof()
        break
      case FrameType.Rst:
        stream.onReset(frame.code, frame.message)
        break
      case FrameType.Window:
        stream.onWindow(frame.increment, frame.acknowledged)
        break
    }
  }

  private shutdown(reason: string): void {
    if (this.state === 'closed') return
    this.state = 'closed'
    this.dropAll(reason)
  }
}
