// A multiplexed tunnel session: one WebSocket carrying many TunnelStreams. Owns the stream ids (each
// OPEN's id above every earlier one, so none is ever reused), dispatches frames by stream id, owns the
// WebSocket-level high-water mark (ws has no 'drain' event: send callbacks tell us when the buffer
// shrinks) and resets every stream when the WebSocket goes away.
import type net from 'node:net'

import type WebSocket from 'ws'

import {
  CloseCode,
  DEFAULT_WINDOW,
  type Frame,
  FrameError,
  FrameType,
  type ResetCode,
  type StreamWindows,
  decodeFrame,
  encodeOpen,
  encodeRst,
  openerWindows,
} from './protocol.js'
import {type ReceiveReservation, type StreamSession, TunnelStream} from './stream.js'

/** Above this many bytes queued in the WebSocket, streams stop reading their sockets (the client's default). */
export const SESSION_HIGH_WATER = 4 * 1024 * 1024

export interface SessionEvents {
  /** Relay side: the peer asked for a new stream. */
  onOpen?: (frame: Extract<Frame, {type: typeof FrameType.Open}>) => void
  /** A stream finished; `reason` is set when it did not end cleanly. */
  onStreamClosed?: (stream: TunnelStream, reason?: string) => void
  /** Any frame or pong arrived (liveness). */
  onActivity?: () => void
}

export interface SessionOptions {
  /** Bytes queued in the WebSocket above which streams stop reading (resuming below a quarter of it). */
  highWater?: number
}

export class MuxSession implements StreamSession {
  private readonly streams = new Map<number, TunnelStream>()
  private readonly drainWaiters = new Set<TunnelStream>()
  private nextId = 1
  /** The highest id the peer has opened: an OPEN must go above it. */
  private lastOpened = 0
  private closed = false
  private readonly highWater: number
  private readonly lowWater: number
  /** Why the session ended, once it has. */
  closeReason?: string
  private readonly afterSend = (): void => {
    if (this.drainWaiters.size > 0 && this.ws.bufferedAmount <= this.lowWater) this.releaseWaiters()
  }

  constructor(
    readonly ws: WebSocket,
    private readonly events: SessionEvents = {},
    options: SessionOptions = {},
  ) {
    this.highWater = options.highWater ?? SESSION_HIGH_WATER
    this.lowWater = this.highWater / 4
    ws.on('message', (data: Buffer, isBinary: boolean) => this.onMessage(data, isBinary))
    ws.on('close', () => this.shutdown('tunnel connection lost'))
  }

  get size(): number {
    return this.streams.size
  }

  get open(): boolean {
    return !this.closed && this.ws.readyState === this.ws.OPEN
  }

  /** Client side: carry `socket` to `target` ("host:port") as a new stream. */
  openStream(socket: net.Socket, target: string, window = DEFAULT_WINDOW): TunnelStream {
    const id = this.nextId++
    this.send(encodeOpen(id, window, target))
    return this.attach(id, socket, openerWindows(this.ws.protocol, window))
  }

  /** Relay side: adopt the socket dialled for an OPEN frame. */
  attach(id: number, socket: net.Socket, windows: StreamWindows, reservation?: ReceiveReservation): TunnelStream {
    const stream = new TunnelStream(id, socket, this, windows, reservation)
    this.streams.set(id, stream)
    return stream
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

  /** Bytes the peer has sent on this session's streams that were not credited back yet. */
  get outstandingBytes(): number {
    let total = 0
    for (const stream of this.streams.values()) total += stream.outstanding
    return total
  }

  send(frame: Buffer, done?: (error?: Error) => void): void {
    if (this.ws.readyState !== this.ws.OPEN) {
      done?.(new Error('tunnel connection is closed'))
      return
    }
    this.ws.send(frame, (error) => {
      done?.(error)
      this.afterSend()
    })
  }

  congested(): boolean {
    return this.ws.bufferedAmount > this.highWater
  }

  waitForDrain(stream: TunnelStream): void {
    this.drainWaiters.add(stream)
  }

  release(stream: TunnelStream, reason?: string): void {
    if (this.streams.get(stream.id) === stream) this.streams.delete(stream.id)
    this.drainWaiters.delete(stream)
    this.events.onStreamClosed?.(stream, reason)
  }

  /** Resets every stream and closes the WebSocket. */
  close(code: number = CloseCode.Normal, reason = ''): void {
    this.closeReason ??= reason || undefined
    this.shutdown(reason || 'tunnel closed')
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.close(code, reason)
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
        stream.onWindow(frame.increment)
        break
    }
  }

  private shutdown(reason: string): void {
    if (this.closed) return
    this.closed = true
    for (const stream of [...this.streams.values()]) stream.drop(reason)
    this.drainWaiters.clear()
  }
}
