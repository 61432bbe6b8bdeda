// Fewer, larger DATA frames without waiting for anything: a stream's socket reads that arrive in one
// turn of the event loop (Node reads at most 64 KiB at a time, and a busy socket gives several reads
// per turn) leave as one frame, up to the largest the peer accepts, at the end of that turn
// (setImmediate runs right after the poll phase that delivered them), so a lone small read costs no
// added latency. One frame instead of several is one WebSocket send, one write, one message to parse
// and one socket write on the other side.
import {HEADER_BYTES, MAX_FRAME_BYTES, encodeData} from './protocol.js'

/** The largest DATA payload one frame carries: the peer's maxPayload less the header. */
export const MAX_DATA_BYTES = MAX_FRAME_BYTES - HEADER_BYTES

export class OutgoingData {
  private chunks: Buffer[] = []
  private bytes = 0
  private scheduled = false
  private dropped = false
  private readonly atTurnEnd = (): void => {
    this.scheduled = false
    this.flush()
  }

  /** `send` gets each frame, encoded, in the order the bytes were read. */
  constructor(
    private readonly stream: number,
    private readonly send: (frame: Buffer) => void,
  ) {}

  get pending(): number {
    return this.bytes
  }

  /** Queues `chunk` for this turn's frame (sending what is queued first if the frame would be too big). */
  push(chunk: Buffer): void {
    if (this.dropped) return
    if (this.bytes + chunk.length > MAX_DATA_BYTES) this.flush()
    this.chunks.push(chunk)
    this.bytes += chunk.length
    if (!this.scheduled) {
      this.scheduled = true
      setImmediate(this.atTurnEnd)
    }
  }

  /** Sends what is queued now (before an EOF, which must follow the data). */
  flush(): void {
    if (this.dropped || this.chunks.length === 0) return
    const chunks = this.chunks
    this.chunks = []
    this.bytes = 0
    this.send(encodeData(this.stream, chunks.length === 1 ? (chunks[0] as Buffer) : chunks))
  }

  /** Forgets what is queued (a resume sends it again from the replay buffer, which holds it too). */
  discard(): void {
    this.chunks = []
    this.bytes = 0
  }

  /** The stream was reset: what is queued is never sent. */
  drop(): void {
    this.dropped = true
    this.chunks = []
    this.bytes = 0
  }
}
