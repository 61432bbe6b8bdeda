// The rules both sides of a v3 session apply when a new WebSocket takes a detached session back: each
// side has the other's entries (per stream: bytes received, credit granted). A stream both have sends
// again what the peer is missing; a stream only the peer lists ended here meanwhile (RST); a stream only
// this side has ended there (reset here) — unless the relay never saw its OPEN, which the client sends
// again. docs/tunnel.md, "resuming a dropped WebSocket", has the whole exchange.
import {ResetCode, type ResumeEntry, encodeResume, encodeRst} from './protocol.js'
import type {TunnelStream} from './stream.js'

/** What a stream the relay may not have seen needs to be opened again: its OPEN frame and first credit. */
export interface Opening {
  frame: Buffer
  send: number
}

export interface ResumeOutcome {
  /** Streams that carry on. */
  kept: number
  /** Streams reset because the other side no longer had them. */
  lost: number
}

/** One side's streams and the way to the peer. */
export interface ResumingSide {
  readonly streams: ReadonlyMap<number, TunnelStream>
  send(frame: Buffer): void
}

/** Client side: the relay's resumed SESSION listed `entries` and had seen OPENs up to `lastOpened`. */
export function resumeAtClient(side: ResumingSide, openings: ReadonlyMap<number, Opening>, entries: ResumeEntry[], lastOpened: number): ResumeOutcome {
  const theirs = resetUnknown(side, entries)
  const both: TunnelStream[] = []
  const reopen: TunnelStream[] = []
  let lost = 0
  for (const stream of [...side.streams.values()]) {
    if (theirs.has(stream.id)) both.push(stream)
    // Never seen by the relay (its OPEN was lost with the WebSocket): open it again.
    else if (stream.id > lastOpened && openings.has(stream.id)) reopen.push(stream)
    else {
      lost++
      stream.drop('the relay had already ended this connection')
    }
  }
  // The relay must know where we stand before any byte we send again.
  side.send(encodeResume(both.map((stream) => stream.resumeEntry())))
  for (const stream of both) {
    const entry = theirs.get(stream.id) as ResumeEntry
    stream.resumeFrom(entry.received, entry.granted)
  }
  for (const stream of reopen) {
    const opening = openings.get(stream.id) as Opening
    side.send(opening.frame)
    stream.resumeFrom(0, opening.send)
  }
  return {kept: both.length + reopen.length, lost}
}

/** Relay side: the client's RESUME listed `entries`; what it does not list, it no longer has. */
export function resumeAtRelay(side: ResumingSide, entries: ResumeEntry[]): ResumeOutcome {
  const theirs = resetUnknown(side, entries)
  let kept = 0
  let lost = 0
  for (const stream of [...side.streams.values()]) {
    const entry = theirs.get(stream.id)
    if (entry) {
      kept++
      stream.resumeFrom(entry.received, entry.granted)
    } else {
      lost++
      stream.drop('the client had already ended this connection')
    }
  }
  return {kept, lost}
}

/** The peer's entries by stream; those this side no longer has get RST. */
function resetUnknown(side: ResumingSide, entries: ResumeEntry[]): Map<number, ResumeEntry> {
  for (const entry of entries) if (!side.streams.has(entry.stream)) side.send(encodeRst(entry.stream, ResetCode.Aborted, 'ended while the tunnel reconnected'))
  return new Map(entries.map((entry) => [entry.stream, entry]))
}
