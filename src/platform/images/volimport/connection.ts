// One client connection to the emulated volimport, as a state machine over the bytes it sends:
//
//   auth     --the auth's length in bytes, right-->  entries  (Stats: the volume's figures)
//   auth     --wrong, or another import runs-->      closed   (an error, End)
//   entries  --each entry-->                         entries  (Ack)
//   entries  --the trailer-->                        term     (directory modes applied; Stats)
//   entries  --a refused entry, a broken stream-->   closed   (an error, End)
//   term     --the auth again (the term signal)-->   closed   (the server may exit)
//
// The bytes are read with `for await`, so a slow disk slows the client (TCP backpressure) instead
// of filling memory. An unauthenticated connection gets AUTH_TIMEOUT_MS to present the auth.
import type net from 'node:net'

import {tokenMatches} from '../../../tunnel/relay/auth.js'
import {type VolumeSpace, encodeAck, encodeFailure, encodeStats} from '../../../volimport/protocol.js'
import {EntryRefused, EntryWriter} from './entry-writer.js'
import {Unpacker} from './unpacker.js'

const AUTH_TIMEOUT_MS = 5_000

type State = 'auth' | 'entries' | 'term' | 'closed'

/** How a connection ended: `refused` (wrong auth or busy) does not end the server; the others do. */
export type ConnectionOutcome = 'refused' | 'finished' | 'failed'

export interface ConnectionOptions {
  authSha256: Buffer
  authLength: number
  root: string
  /** Takes the server's one import slot; false when another connection has it. */
  claim(): boolean
  /** Data arrived for the claimed import (the server's inactivity timer). */
  activity(): void
  space(): Promise<VolumeSpace>
  log(line: string): void
}

export class ImportConnection {
  private state: State = 'auth'
  private pending = Buffer.alloc(0)
  private readonly writer: EntryWriter
  private readonly unpacker: Unpacker
  private entries = 0
  private outcome: ConnectionOutcome = 'refused'
  /** Why it failed, for the server's log. */
  failure?: string

  constructor(
    private readonly socket: net.Socket,
    private readonly options: ConnectionOptions,
  ) {
    this.writer = new EntryWriter(options.root)
    this.unpacker = new Unpacker(this.writer)
  }

  /** Whether the trailer was read and the import is complete (the term signal may still be owed). */
  get complete(): boolean {
    return this.state === 'term' || this.outcome === 'finished'
  }

  async serve(): Promise<ConnectionOutcome> {
    const {socket} = this
    socket.setTimeout(AUTH_TIMEOUT_MS, () => {
      if (this.state === 'auth') socket.destroy()
    })
    try {
      for await (const chunk of socket as AsyncIterable<Buffer>) {
        if (this.state === 'closed') continue // what the client still sends after our End
        try {
          await this.consume(chunk)
        } catch (error) {
          this.fail(error instanceof EntryRefused ? error.message : `unexpected: ${(error as Error).message}`)
        }
      }
    } catch (error) {
      if (this.state === 'entries') this.fail(`the connection broke: ${(error as Error).message}`)
    }
    if (this.state === 'entries') this.fail(`the client closed the connection after ${this.entries} entries, before the end of the stream`)
    if (this.state === 'term') this.outcome = 'finished' // closed without the term signal: the import is complete all the same
    await this.writer.abort()
    return this.outcome
  }

  private async consume(chunk: Buffer): Promise<void> {
    let data = chunk
    if (this.state === 'auth') {
      data = this.take(data)
      if (this.pending.length < this.options.authLength) return
      if (!tokenMatches(this.pending.toString('utf8'), this.options.authSha256)) return this.refuse('authentication failed: wrong auth string')
      if (!this.options.claim()) return this.refuse('another import is in progress')
      this.state = 'entries'
      this.pending = Buffer.alloc(0)
      this.socket.setTimeout(0)
      this.options.activity()
      this.socket.write(encodeStats(await this.options.space()))
    }
    if (this.state === 'entries' && data.length > 0) {
      this.options.activity()
      const fed = await this.unpacker.feed(data)
      this.entries += fed.completed
      for (let i = 0; i < fed.completed; i++) this.socket.write(encodeAck())
      if (!fed.finished) return
      await this.writer.finish()
      this.state = 'term'
      const space = await this.options.space()
      this.options.log(`imported ${this.entries} entries; ${space.free} of ${space.total} bytes free`)
      this.socket.write(encodeStats(space))
      data = fed.rest
    }
    if (this.state === 'term') {
      this.take(data)
      if (this.pending.length < this.options.authLength) return
      this.state = 'closed'
      this.outcome = 'finished'
      this.socket.end()
    }
  }

  /** Adds up to the auth's length to `pending`; returns the bytes after it. */
  private take(data: Buffer): Buffer {
    const wanted = this.options.authLength - this.pending.length
    this.pending = Buffer.concat([this.pending, data.subarray(0, wanted)])
    return data.subarray(wanted)
  }

  private refuse(message: string): void {
    this.options.log(`refused a connection from ${this.socket.remoteAddress}: ${message}`)
    this.state = 'closed'
    this.outcome = 'refused'
    this.socket.end(encodeFailure(message))
  }

  private fail(message: string): void {
    this.options.log(`import failed: ${message}`)
    this.failure = message
    this.state = 'closed'
    this.outcome = 'failed'
    if (!this.socket.destroyed) this.socket.end(encodeFailure(message))
  }
}
