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
//     WINDOW  uint32 BE increment: more credit for the peer (bytes flushed, or a larger window)
//
// Data is never interpreted from its length: a zero-length DATA is data, not EOF.
//
// Credit toward the relay depends on the subprotocol the relay chose. ukc-tunnel.v2: the opener may
// send OPEN_CREDIT bytes before the relay's WINDOW frames grant more (the relay sizes every stream's
// window from a fixed memory budget). ukc-tunnel.v1 (relays and clients from before the caps): both
// directions start at the OPEN window. An OPEN whose id is not above every earlier one closes the
// session with 1002, as a malformed frame does.

export const FrameType = {
  Open: 1,
  Data: 2,
  Eof: 3,
  Rst: 4,
  Window: 5,
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

/** The WebSocket subprotocol both sides require, so a stray client or a different relay fails fast. */
export const SUBPROTOCOL = 'ukc-tunnel.v2'
/** The protocol before relay-granted credit; still spoken with older relays and clients. */
export const SUBPROTOCOL_V1 = 'ukc-tunnel.v1'
/** What a client offers, preferred first. */
export const SUBPROTOCOLS = [SUBPROTOCOL, SUBPROTOCOL_V1]

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
  | {type: typeof FrameType.Window; stream: number; increment: number}

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

export function encodeWindow(stream: number, increment: number): Buffer {
  const buf = header(FrameType.Window, stream, 4)
  buf.writeUInt32BE(increment, HEADER_BYTES)
  return buf
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
      if (payload.length !== 4) throw new FrameError('WINDOW frame must carry 4 bytes')
      return {type, stream, increment: payload.readUInt32BE(0)}
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
