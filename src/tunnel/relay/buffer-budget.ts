// The relay's memory for bytes on their way to targets. Every stream's receive window (what its client
// may send before the relay returns credit) is reserved here before the stream exists, so the bytes the
// relay holds for targets that do not read can never exceed `capacity`, whatever the clients do. Half
// the capacity is kept for new streams' first window (OPEN_CREDIT each: 1,024 streams × 4 KiB = 4 MiB
// of the default 8 MiB); the other half lets streams that move data grow their windows (doubling, up
// to MAX_STREAM_WINDOW) while it lasts. A grown window stays with its stream until the stream ends.
import {MAX_STREAM_WINDOW, OPEN_CREDIT} from '../protocol.js'
import type {ReceiveReservation} from '../stream.js'

export const DEFAULT_BUFFER_BYTES = 8 * 1024 * 1024

export class BufferBudget {
  private opening = 0
  private grown = 0
  readonly openingCapacity: number
  readonly growthCapacity: number

  constructor(readonly capacity = DEFAULT_BUFFER_BYTES) {
    this.openingCapacity = Math.floor(capacity / 2)
    this.growthCapacity = capacity - this.openingCapacity
  }

  /** Bytes reserved by the windows of open streams (never above `capacity`). */
  get reserved(): number {
    return this.opening + this.grown
  }

  /** Bytes the growth half has left. */
  get growthLeft(): number {
    return this.growthCapacity - this.grown
  }

  /**
   * Reserves a new stream's receive window of `window` bytes: its first OPEN_CREDIT from the opening
   * half, the rest (a v1 client's larger window) from the growth half. Undefined when it does not fit.
   */
  admit(window: number): ReceiveReservation | undefined {
    const base = Math.min(window, OPEN_CREDIT)
    const extra = window - base
    if (this.opening + base > this.openingCapacity || this.grown + extra > this.growthCapacity) return undefined
    this.opening += base
    this.grown += extra
    let held = extra
    let released = false
    return {
      grow: (current) => {
        if (released) return 0
        const more = Math.max(0, Math.min(current, MAX_STREAM_WINDOW - current, this.growthLeft))
        this.grown += more
        held += more
        return more
      },
      release: () => {
        if (released) return
        released = true
        this.opening -= base
        this.grown -= held
      },
    }
  }
}
