// The client's side of one import over a connected stream (TLS to the import instance, or any
// duplex in tests): auth → the volume's figures → the capacity check → the entries, with
// backpressure, while the server's replies are read beside them → the stop figures → the "term
// signal" (the auth once more), then close. The server's own reason wins over the broken pipe it
// causes when it refuses something mid-stream.
import {once} from 'node:events'
import net from 'node:net'
import type {Duplex} from 'node:stream'

import {ConflictError, NetworkError, UkcError} from '../api/index.js'
import {type Reply, ReplyReader, ReplyStatus, type VolumeSpace, decodeStats, errorText} from './protocol.js'

/** No byte from the server for this long while it owes one: it is gone. */
const SILENCE_MS = 60_000

/** The server refused: bad auth, a path it will not write, a full volume … (its own words). */
export class ImportRefusedError extends UkcError {
  constructor(message: string) {
    super(message, {code: 'IMPORT_REFUSED', hint: 'the import stopped part-way: fix the cause and import again (files already written stay)'})
  }
}

export interface ImportSessionOptions {
  socket: Duplex
  auth: string
  chunks: AsyncIterable<Buffer>
  /** Bytes `chunks` yields: compared with the volume's free space. */
  totalBytes: number
  /** Go on (with a warning) when the data may not fit. */
  force: boolean
  warn: (line: string) => void
  onProgress?: (sentBytes: number) => void
}

export interface ImportSessionResult {
  /** The volume before and after, as the server reported it. */
  start: VolumeSpace
  end: VolumeSpace
  /** Entries the server confirmed. */
  acked: number
}

type Outcome = {kind: 'ack'} | {kind: 'space'; space: VolumeSpace}

/** Replies in order; rejects once the stream ends or fails (with why). */
class ReplyQueue {
  private readonly reader = new ReplyReader()
  private readonly ready: Reply[] = []
  private failure?: Error
  private wake?: () => void

  constructor(socket: Duplex) {
    socket.on('data', (chunk: Buffer) => {
      this.ready.push(...this.reader.push(chunk))
      this.wake?.()
    })
    socket.on('error', (error: Error) => this.fail(error))
    socket.once('end', () => this.fail(new NetworkError('the import instance closed the connection before the import finished')))
    socket.once('close', () => this.fail(new NetworkError('the connection to the import instance closed before the import finished')))
  }

  async next(): Promise<Reply> {
    for (;;) {
      const reply = this.ready.shift()
      if (reply) return reply
      if (this.failure) throw this.failure
      await new Promise<void>((resolve) => (this.wake = resolve))
    }
  }

  private fail(error: Error): void {
    this.failure ??= error
    this.wake?.()
  }
}

/** One outcome in kraft's terms: errors pile up until End, which then fails with all of them. */
async function nextOutcome(queue: ReplyQueue, context: string): Promise<Outcome> {
  const errors: string[] = []
  for (;;) {
    let reply: Reply
    try {
      reply = await queue.next()
    } catch (error) {
      if (errors.length > 0) throw new ImportRefusedError(`${context}: ${errors.join('; ')}`)
      throw error
    }
    if (reply.status === ReplyStatus.Ack) return {kind: 'ack'}
    if (reply.status === ReplyStatus.Stats) return {kind: 'space', space: decodeStats(reply.payload)}
    if (reply.status < 0) errors.push(errorText(reply.payload))
    else if (reply.status === ReplyStatus.End) {
      if (errors.length > 0) throw new ImportRefusedError(`${context}: ${errors.join('; ')}`)
      if (reply.payload.length > 0) return {kind: 'space', space: decodeStats(reply.payload)}
      throw new UkcError(`${context}: the import instance ended the exchange without the volume's figures`)
    } else throw new UkcError(`${context}: unexpected reply status ${reply.status} from the import instance`)
  }
}

async function write(socket: Duplex, chunk: Buffer, failed: Promise<unknown>): Promise<void> {
  if (socket.destroyed) throw new NetworkError('the connection to the import instance is closed')
  if (!socket.write(chunk)) await Promise.race([once(socket, 'drain'), failed])
}

export async function runImportSession(options: ImportSessionOptions): Promise<ImportSessionResult> {
  const {socket, auth} = options
  const queue = new ReplyQueue(socket)
  if (socket instanceof net.Socket) socket.setTimeout(SILENCE_MS, () => socket.destroy(new NetworkError(`the import instance did not answer for ${SILENCE_MS / 1000} s`)))

  socket.write(auth)
  const first = await nextOutcome(queue, 'authentication failed')
  if (first.kind !== 'space') throw new UkcError('authentication failed: the import instance did not send the volume\'s figures')
  const start = first.space
  if (options.totalBytes > start.free) {
    const figures = `${options.totalBytes} bytes to import, ${start.free} free of ${start.total}`
    if (!options.force) throw new ConflictError(`not enough free space on the volume (${figures})`, 'use a bigger volume, or --force to try anyway (files may be overwritten)')
    options.warn(`the import might exceed the volume's capacity (${figures})`)
  }

  let acked = 0
  const final = (async (): Promise<VolumeSpace> => {
    for (;;) {
      const outcome = await nextOutcome(queue, 'transmission failed')
      if (outcome.kind === 'space') return outcome.space
      acked++
    }
  })()
  final.catch(() => undefined) // awaited below; a rejection before then is not unhandled

  // The server may fail while a chunk is being read: whichever comes first.
  const early = final.then(() => {
    throw new UkcError('the import instance ended the import before the end of the stream')
  })
  early.catch(() => undefined)
  const chunks = options.chunks[Symbol.asyncIterator]()
  let sent = 0
  try {
    for (;;) {
      const next = await Promise.race([chunks.next(), early])
      if (next.done) break
      await write(socket, next.value, final)
      sent += next.value.length
      options.onProgress?.(sent)
    }
  } catch (error) {
    void chunks.return?.(undefined).catch(() => undefined) // closes the file being read
    socket.destroy()
    const reason = await final.then(
      () => undefined,
      (failure: unknown) => failure,
    )
    throw reason instanceof ImportRefusedError ? reason : error
  }
  const end = await final
  // The "term signal": the server may exit now. Handed to the socket before the caller closes it.
  await Promise.race([new Promise<void>((resolve) => socket.end(auth, resolve)), once(socket, 'close')])
  return {start, end, acked}
}
