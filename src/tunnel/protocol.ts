// The frames both ends of the tunnel speak, one per binary WebSocket message, all streams of a session
// multiplexed over one WebSocket:
//
//   byte 0      type (FrameType)
//   bytes 1..4  stream id, uint32 big-endian (chosen by the client; each OPEN's id is above every id
//               opened before in the session, so an id is never reused, even after RST or EOF)
//   bytes 5..   payload, by type:
//     OPEN    uint32 BE window: bytes the opener may receive before it returns credit
//             + UTF-8 "host:port" target (checked against the relay's allow-list)
//     DATA    the bytes, in order: one turn's socket reads of the stream (up to MAX_FRAME_BYTES with
//             the header; a read larger than the credit left is split)
//     EOF     empty: the sender's side will send no more (TCP half-close, FIN)
//     RST     uint16 BE reason (ResetCode) + UTF-8 message: abort the stream (TCP reset)
//     WINDOW  uint32 BE increment: more credit for the peer (bytes flushed, or a larger window);
//             v3 adds uint64 BE acknowledged: the stream's bytes received so far, EOF counted as one
//     SESSION (v3, relay → client, stream 0) 16-byte session id + uint8 resumed + uint32 BE last
//             opened stream id + resume entries (below); the relay's first frame on every v3 WebSocket
//     RESUME  (v3, client → relay, stream 0) resume entries: the client's answer to a resumed SESSION
//
// A resume entry is uint32 stream id + uint64 received (bytes, EOF counted as one) + uint64 granted
// (the credit the sender has ever been given: the first window plus every WINDOW increment).
//
// Data is never interpreted from its length: a zero-length DATA is data, not EOF.
//
// Credit toward the relay depends on the subprotocol the relay chose. ukc-tunnel.v2: the opener may
// send OPEN_CREDIT bytes before the relay's WINDOW frames grant more (the relay sizes every stream's
// window from a fixed memory budget). ukc-tunnel.v1 (relays and clients from before the caps): both
// directions start at the OPEN window. An OPEN whose id is not above every earlier one closes the
// session with 1002, as a malformed frame does. ukc-tunnel.v3 is v2 plus resumption (docs/tunnel.md,
// "resuming a dropped WebSocket"): SESSION, RESUME and the acknowledged count in WINDOW.

import {randomBytes} from 'node:crypto'

export const FrameType = {
  Open: 1,
  Data: 2,
  Eof: 3,
  Rst: 4,
  Window: 5,
  Session: 6,
  Resume: 7,
} as const
export type FrameType = (typeof FrameType)[keyof typeof FrameType]

/** Why a stream was aborted; the CLI turns these into precise messages. */
export const ResetCode = {
  /** The peer's socket closed with an error or before both sides ended. */
  Aborted: 1,
  /** The target refused or could not be reached (ECONNREFUSED, EHOSTUNREACH, timeout). */
  Refused: 2,
  /** The target is not in this tunnel's allow-list. */
  NotAllowed: 3,
  /** The target's name did not resolve. */
  LookupFailed: 4,
  /** The peer broke the protocol for this stream (bad frame, window exceeded). */
  ProtocolError: 5,
  /** The tunnel is shutting down. */
  Shutdown: 6,
  /** The stream was idle for longer than the idle timeout. */
  IdleTimeout: 7,
  /** A relay limit refused the stream: open streams per session, its buffer budget, a window too large. */
  LimitReached: 8,
} as const
export type ResetCode = (typeof ResetCode)[keyof typeof ResetCode]

export const HEADER_BYTES = 5
/** Largest frame either side accepts (ws maxPayload); DATA frames fill it when reads pile up (data-batch.ts). */
export const MAX_FRAME_BYTES = 256 * 1024
/** Per-stream credit: bytes in flight (on the wire or in the receiver's socket buffer) per direction. */
export const DEFAULT_WINDOW = 1024 * 1024
/** v2: what an opener may send on a new stream before the relay grants more. */
export const OPEN_CREDIT = 4 * 1024
/** The largest window a relay grants (v2) or accepts in an OPEN (v1). */
export const MAX_STREAM_WINDOW = DEFAULT_WINDOW
/** WebSocket close codes used by the relay (4xxx are application-defined). */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  ProtocolError: 1002,
  TooBig: 1009,
  HeartbeatTimeout: 4000,
  /** A newer session of the same tunnel took this one's place (a relay serves one session at a time). */
  Replaced: 4001,
} as const

/**
 * Whether a WebSocket that closed with `code` merely dropped (no close frame: 1006; a proxy's or
 * gateway's 1011–1014), so a v3 session may resume, rather than being ended on purpose by a side.
 */
export function droppedClose(code: number): boolean {
  return code === 1006 || (code >= 1011 && code <= 1014)
}

/** The WebSocket subprotocol both sides require, so a stray client or a different relay fails fast. */
export const SUBPROTOCOL = 'ukc-tunnel.v2'
/** v2 plus resumption of a session whose WebSocket dropped. */
export const SUBPROTOCOL_V3 = 'ukc-tunnel.v3'
/** The upgrade request header in which a v3 client names the session it wants to resume. */
export const RESUME_HEADER = 'ukc-tunnel-session'
/** The protocol before relay-granted credit; still spoken with older relays and clients. */
export const SUBPROTOCOL_V1 = 'ukc-tunnel.v1'
/** What a client offers, preferred first. */
export const SUBPROTOCOLS = [SUBPROTOCOL_V3, SUBPROTOCOL, SUBPROTOCOL_V1]

/** How many bytes each side may send on a new stream before the other returns credit. */
export interface StreamWindows {
  /** This side's initial credit. */
  send: number
  /** What the peer may have outstanding toward this side (received, not yet credited back). */
  receive: number
}

/** The windows of a stream opened with `window`, on the opener's side, under `subprotocol`. */
export function openerWindows(subprotocol: string, window: number): StreamWindows {
  return {send: subprotocol === SUBPROTOCOL_V1 ? window : OPEN_CREDIT, receive: window}
}

export type Frame =
  | {type: typeof FrameType.Open; stream: number; window: number; target: string}
  | {type: typeof FrameType.Data; stream: number; data: Buffer}
  | {type: typeof FrameType.Eof; stream: number}
  | {type: typeof FrameType.Rst; stream: number; code: number; message: string}
  | {type: typeof FrameType.Window; stream: number; increment: number; acknowledged?: number}
  | {type: typeof FrameType.Session; stream: number; id: string; resumed: boolean; lastOpened: number; entries: ResumeEntry[]}
  | {type: typeof FrameType.Resume; stream: number; entries: ResumeEntry[]}

/** Where one stream stands on the side that sends the entry (see the top of this file). */
export interface ResumeEntry {
  stream: number
  received: number
  granted: number
}

const SESSION_ID_BYTES = 16
const ENTRY_BYTES = 20

function header(type: FrameType, stream: number, payloadBytes: number): Buffer {
  const buf = Buffer.allocUnsafe(HEADER_BYTES + payloadBytes)
  buf[0] = type
  buf.writeUInt32BE(stream, 1)
  return buf
}

export function encodeOpen(stream: number, window: number, target: string): Buffer {
  const name = Buffer.from(target, 'utf8')
  const buf = header(FrameType.Open, stream, 4 + name.length)
  buf.writeUInt32BE(window, HEADER_BYTES)
  name.copy(buf, HEADER_BYTES + 4)
  return buf
}

/** One DATA frame carrying `data`, or the chunks of `data` in order (the sender's reads of one turn). */
export function encodeData(stream: number, data: Buffer | readonly Buffer[]): Buffer {
  if (Buffer.isBuffer(data)) {
    const buf = header(FrameType.Data, stream, data.length)
    data.copy(buf, HEADER_BYTES)
    return buf
  }
  let length = 0
  for (const chunk of data) length += chunk.length
  const buf = header(FrameType.Data, stream, length)
  let offset = HEADER_BYTES
  for (const chunk of data) offset += chunk.copy(buf, offset)
  return buf
}

export function encodeEof(stream: number): Buffer {
  return header(FrameType.Eof, stream, 0)
}

export function encodeRst(stream: number, code: ResetCode, message = ''): Buffer {
  const text = Buffer.from(message.slice(0, 200), 'utf8')
  const buf = header(FrameType.Rst, stream, 2 + text.length)
  buf.writeUInt16BE(code, HEADER_BYTES)
  text.copy(buf, HEADER_BYTES + 2)
  return buf
}

/** `acknowledged` (v3 only) tells the sender how much of the stream it may drop from its replay buffer. */
export function encodeWindow(stream: number, increment: number, acknowledged?: number): Buffer {
  const buf = header(FrameType.Window, stream, acknowledged === undefined ? 4 : 12)
  buf.writeUInt32BE(increment, HEADER_BYTES)
  if (acknowledged !== undefined) buf.writeBigUInt64BE(BigInt(acknowledged), HEADER_BYTES + 4)
  return buf
}

/** A new random session id (hex), which a v3 client presents to resume. */
export function newSessionId(): string {
  return randomBytes(SESSION_ID_BYTES).toString('hex')
}

export function encodeSession(id: string, resumed: boolean, lastOpened: number, entries: ResumeEntry[]): Buffer {
  const buf = header(FrameType.Session, 0, SESSION_ID_BYTES + 5 + entries.length * ENTRY_BYTES)
  Buffer.from(id, 'hex').copy(buf, HEADER_BYTES)
  buf[HEADER_BYTES + SESSION_ID_BYTES] = resumed ? 1 : 0
  buf.writeUInt32BE(lastOpened, HEADER_BYTES + SESSION_ID_BYTES + 1)
  writeEntries(buf, HEADER_BYTES + SESSION_ID_BYTES + 5, entries)
  return buf
}

export function encodeResume(entries: ResumeEntry[]): Buffer {
  const buf = header(FrameType.Resume, 0, entries.length * ENTRY_BYTES)
  writeEntries(buf, HEADER_BYTES, entries)
  return buf
}

function writeEntries(buf: Buffer, offset: number, entries: ResumeEntry[]): void {
  for (const [i, entry] of entries.entries()) {
    const at = offset + i * ENTRY_BYTES
    buf.writeUInt32BE(entry.stream, at)
    buf.writeBigUInt64BE(BigInt(entry.received), at + 4)
    buf.writeBigUInt64BE(BigInt(entry.granted), at + 12)
  }
}

function readEntries(payload: Buffer): ResumeEntry[] {
  if (payload.length % ENTRY_BYTES !== 0) throw new FrameError(`resume entries of ${payload.length} bytes are not a multiple of ${ENTRY_BYTES}`)
  const entries: ResumeEntry[] = []
  for (let at = 0; at < payload.length; at += ENTRY_BYTES) {
    entries.push({stream: payload.readUInt32BE(at), received: Number(payload.readBigUInt64BE(at + 4)), granted: Number(payload.readBigUInt64BE(at + 12))})
  }
  return entries
}

/** Decodes one message; throws a FrameError for anything malformed (the caller closes with 1002). */
export function decodeFrame(buf: Buffer): Frame {
  if (buf.length < HEADER_BYTES) throw new FrameError(`frame of ${buf.length} bytes is shorter than its header`)
  const type = buf[0]
  const stream = buf.readUInt32BE(1)
  const payload = buf.subarray(HEADER_BYTES)
  switch (type) {
    case FrameType.Open:
      if (payload.length < 5) throw new FrameError('OPEN frame without a target')
      return {type, stream, window: payload.readUInt32BE(0), target: payload.subarray(4).toString('utf8')}
    case FrameType.Data:
      return {type, stream, data: payload}
    case FrameType.Eof:
      return {type, stream}
    case FrameType.Rst:
      if (payload.length < 2) throw new FrameError('RST frame without a code')
      return {type, stream, code: payload.readUInt16BE(0), message: payload.subarray(2).toString('utf8')}
    case FrameType.Window:
      if (payload.length === 12) return {type, stream, increment: payload.readUInt32BE(0), acknowledged: Number(payload.readBigUInt64BE(4))}
      if (payload.length !== 4) throw new FrameError('WINDOW frame must carry 4 or 12 bytes')
      return {type, stream, increment: payload.readUInt32BE(0)}
    case FrameType.Session:
      if (payload.length < SESSION_ID_BYTES + 5) throw new FrameError('SESSION frame shorter than its header')
      return {
        type,
        stream,
        id: payload.subarray(0, SESSION_ID_BYTES).toString('hex'),
        resumed: payload[SESSION_ID_BYTES] === 1,
        lastOpened: payload.readUInt32BE(SESSION_ID_BYTES + 1),
        entries: readEntries(payload.subarray(SESSION_ID_BYTES + 5)),
      }
    case FrameType.Resume:
      return {type, stream, entries: readEntries(payload)}
    default:
      throw new FrameError(`unknown frame type ${type}`)
  }
}

export class FrameError extends Error {
  override name = 'FrameError'
}

/** Words for a reset code, for log lines and the CLI. */
export function describeReset(code: number, message: string): string {
  const what: Record<number, string> = {
    [ResetCode.Aborted]: 'connection aborted',
    [ResetCode.Refused]: 'target refused the connection',
    [ResetCode.NotAllowed]: 'target is not allowed by this tunnel',
    [ResetCode.LookupFailed]: 'target name did not resolve',
    [ResetCode.ProtocolError]: 'protocol error',
    [ResetCode.Shutdown]: 'tunnel shutting down',
    [ResetCode.IdleTimeout]: 'idle timeout',
    [ResetCode.LimitReached]: 'relay limit reached',
  }
  const base = what[code] ?? `reset (code ${code})`
  return message ? `${base}: ${message}` : base
}
