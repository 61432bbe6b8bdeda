// Reading instance consoles through the API (GET /instances/log windows): the history backwards page
// by page until `tail` lines or the beginning, then — when following — new output by polling until
// each instance has stopped (or is gone) or the caller's signal aborts. Whole lines go to a sink
// (prefixed with the instance name when asked); bytes of a character split across two windows wait
// for the rest. Shared by `instance logs` and, later, the logs of a service.
import {StringDecoder} from 'node:string_decoder'
import {setTimeout as delay} from 'node:timers/promises'

import {type Instance, type InstanceLog, type UkcClient, getInstanceLogs, getInstances, isFailed} from '../api/index.js'
import {stopReasonText} from './instance-view.js'

/** The largest window the API returns in one call. */
export const LOG_PAGE = 16_383
const POLL_MS = 500

export interface ConsoleOutput {
  uuid: string
  name: string
  output: string
  /** Set when following saw the instance stop: why, in words. */
  exited?: string
}

export interface ConsoleReaderOptions {
  client: UkcClient
  /** Last N lines of the history (-1: all). */
  tail: number
  prefix: boolean
  /** Whole lines, ready to print (stdout). */
  write: (text: string) => void
  /**
   * A window's item failed (e.g. not found): report it and return nothing. The command's
   * settleBatch does this (stderr + exit code).
   */
  settle: (items: InstanceLog[]) => InstanceLog[]
  /** An instance stopped while followed: its record, to say why. */
  exited: (output: ConsoleOutput, instance: Instance | undefined) => void
}

/** One console as it is read: where the next byte is, and the unfinished last line. */
interface Cursor {
  id: string
  result: ConsoleOutput
  next: number
  pending: string
  decoder: StringDecoder
  done: boolean
}

export class ConsoleReader {
  private cursors: Cursor[] = []
  private width = 0

  constructor(private readonly options: ConsoleReaderOptions) {}

  get outputs(): ConsoleOutput[] {
    return this.cursors.map((cursor) => cursor.result)
  }

  /** Reads and writes the history of each instance (unknown ones are settled away). */
  async readHistory(ids: string[]): Promise<void> {
    for (const id of ids) {
      const cursor = await this.history(id)
      if (cursor) this.cursors.push(cursor)
    }
    this.width = Math.max(0, ...this.cursors.map((c) => c.result.name.length))
    for (const cursor of this.cursors) this.emit(cursor, cursor.result.output, false)
  }

  /** Polls for new output until every instance stopped or `signal` aborts; flushes what is pending. */
  async follow(signal: AbortSignal): Promise<void> {
    const {client} = this.options
    while (!signal.aborted && this.cursors.some((c) => !c.done)) {
      for (const cursor of this.cursors.filter((c) => !c.done)) await this.poll(client, cursor)
      if (this.cursors.every((c) => c.done)) break
      await delay(POLL_MS, undefined, {signal}).catch(() => undefined)
    }
    this.flush()
  }

  /** Prints unfinished last lines (at the end of a read that does not follow). */
  flush(): void {
    for (const cursor of this.cursors) this.emit(cursor, '', true)
  }

  private async history(id: string): Promise<Cursor | undefined> {
    const {client, tail} = this.options
    const first = await this.page(client, id, -LOG_PAGE, LOG_PAGE)
    if (!first) return undefined
    const chunks = [bytes(first)]
    let lines = lineCount(chunks)
    let start = first.range?.start ?? 0
    const floor = first.available?.start ?? 0
    const uuid = first.uuid || id
    while (start > floor && (tail < 0 || lines <= tail)) {
      const offset = Math.max(floor, start - LOG_PAGE)
      const older = await this.page(client, uuid, offset, start - offset)
      if (!older || !older.range || older.range.start >= start) break
      chunks.unshift(bytes(older))
      lines = lineCount(chunks)
      start = older.range.start
    }
    const decoder = new StringDecoder('utf8')
    let text = decoder.write(Buffer.concat(chunks))
    if (tail >= 0) text = lastLines(text, tail)
    return {
      id: uuid,
      result: {uuid: first.uuid, name: first.name || id, output: text},
      next: first.range?.end ?? first.available?.end ?? 0,
      pending: '',
      decoder,
      done: false,
    }
  }

  private async page(client: UkcClient, id: string, offset: number, limit: number): Promise<InstanceLog | undefined> {
    const [item] = this.options.settle((await getInstanceLogs(client, id, offset, limit)).items)
    return item
  }

  private async poll(client: UkcClient, cursor: Cursor): Promise<void> {
    let state: string | undefined
    for (;;) {
      const [item] = (await getInstanceLogs(client, cursor.id, cursor.next, LOG_PAGE)).items
      if (!item || isFailed(item)) {
        // Gone (removed, or delete-on-stop): nothing more will come.
        cursor.done = true
        this.emit(cursor, '', true)
        return
      }
      const text = cursor.decoder.write(bytes(item))
      this.emit(cursor, text, false)
      cursor.result.output += text
      const end = item.range?.end ?? cursor.next
      state = item.state
      const more = end > cursor.next && end < (item.available?.end ?? end)
      cursor.next = Math.max(cursor.next, end)
      if (!more) break
    }
    state ??= (await getInstances(client, [cursor.id])).items[0]?.state
    if (state !== 'stopped') return
    cursor.done = true
    this.emit(cursor, '', true)
    const [instance] = (await getInstances(client, [cursor.id])).items
    this.options.exited(cursor.result, instance && !isFailed(instance) ? instance : undefined)
  }

  /** Writes whole lines (prefixed when asked); `flush` also writes an unfinished last line. */
  private emit(cursor: Cursor, text: string, flush: boolean): void {
    const all = cursor.pending + text
    const cut = flush ? all.length : all.lastIndexOf('\n') + 1
    cursor.pending = all.slice(cut)
    const ready = all.slice(0, cut)
    if (!ready) return
    if (!this.options.prefix) return this.options.write(ready)
    const prefix = `${cursor.result.name.padEnd(this.width)} | `
    const lines = ready.replace(/\n$/, '').split('\n')
    this.options.write(lines.map((line) => `${prefix}${line}`).join('\n'))
  }
}

/**
 * What a command says (stderr) when a followed instance stopped: why, and how to see more. Records
 * the reason in `output.exited`.
 */
export function exitNotice(output: ConsoleOutput, instance: Instance | undefined, options: {prefix: boolean; bin: string}): string[] {
  output.exited = (instance ? stopReasonText(instance) : '') || 'stopped'
  const who = options.prefix ? `${output.name}: ` : ''
  return [`${who}The instance has exited (${output.exited}).`, `${who}To see why, run: ${options.bin} instance get ${output.name}`]
}

function bytes(item: InstanceLog): Buffer {
  return item.output ? Buffer.from(item.output, 'base64') : Buffer.alloc(0)
}

/** Lines in the bytes read so far (a last line without newline counts). */
function lineCount(chunks: Buffer[]): number {
  let count = 0
  let last = 0x0a
  for (const chunk of chunks) {
    for (const byte of chunk) if (byte === 0x0a) count++
    if (chunk.length > 0) last = chunk[chunk.length - 1] as number
  }
  return last === 0x0a ? count : count + 1
}

function lastLines(text: string, count: number): string {
  if (count === 0) return ''
  const trailing = text.endsWith('\n')
  const lines = (trailing ? text.slice(0, -1) : text).split('\n')
  return lines.slice(-count).join('\n') + (trailing ? '\n' : '')
}
