// What one side of a v3 stream has sent and the peer has not acknowledged yet, so that after a dropped
// WebSocket it can send again exactly what the peer is missing. Positions count the stream's bytes
// with EOF as one more (as TCP counts FIN), so "received 10" after 10 bytes and EOF means the EOF is
// still missing. The peer acknowledges what it received in WINDOW frames, which credit already bounds:
// a sender never has more unacknowledged bytes than the window the peer granted.
export class ReplayBuffer {
  private readonly chunks: Buffer[] = []
  /** Bytes held in `chunks`. */
  private heldBytes = 0
  /** Position of the first byte of `chunks[0]`: everything before it was acknowledged. */
  private acknowledged = 0
  /** Bytes sent so far (the EOF not counted). */
  private sentBytes = 0
  private eof = false

  /** Bytes kept for a resend. */
  get held(): number {
    return this.heldBytes
  }

  /** Bytes sent so far, without the EOF. */
  get sent(): number {
    return this.sentBytes
  }

  /** The stream position after everything sent (EOF included). */
  get end(): number {
    return this.sentBytes + (this.eof ? 1 : 0)
  }

  /** True once the peer has acknowledged everything, EOF included if it was sent. */
  get settled(): boolean {
    return this.acknowledged >= this.end
  }

  push(chunk: Buffer): void {
    this.chunks.push(chunk)
    this.heldBytes += chunk.length
    this.sentBytes += chunk.length
  }

  pushEof(): void {
    this.eof = true
  }

  get eofSent(): boolean {
    return this.eof
  }

  /** The peer has everything before `position`: drop it. Returns the bytes freed. */
  acknowledge(position: number): number {
    let freed = 0
    let drop = Math.min(position, this.sentBytes) - (this.sentBytes - this.heldBytes)
    while (drop > 0 && this.chunks.length > 0) {
      const first = this.chunks[0] as Buffer
      if (first.length <= drop) {
        this.chunks.shift()
        drop -= first.length
        freed += first.length
      } else {
        this.chunks[0] = first.subarray(drop)
        freed += drop
        drop = 0
      }
    }
    this.heldBytes -= freed
    this.acknowledged = Math.max(this.acknowledged, Math.min(position, this.end))
    return freed
  }

  /** What to send again after the peer said it received `position`: the bytes past it, and whether the EOF. */
  since(position: number): {chunks: Buffer[]; eof: boolean} {
    this.acknowledge(position)
    return {chunks: [...this.chunks], eof: this.eof && position <= this.sentBytes}
  }
}
