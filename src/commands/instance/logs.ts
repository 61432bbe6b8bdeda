import {StringDecoder} from 'node:string_decoder'
import {setTimeout as delay} from 'node:timers/promises'

import {Args, Flags} from '@oclif/core'

import {type InstanceLog, type UkcClient, ExitCode, getInstanceLogs, getInstances, isFailed} from '../../api/index.js'
import {BaseCommand, INSTANCE_TOPICS, commandAliases, stopReasonText} from '../../cli/index.js'

/** The largest window the API returns in one call. */
const PAGE = 16383
const POLL_MS = 500

export interface InstanceLogResult {
  uuid: string
  name: string
  output: string
  /** Set when --follow saw the instance stop. */
  exited?: string
}

/** One instance's console as it is read: where the next byte is, and the unfinished last line. */
interface Cursor {
  id: string
  result: InstanceLogResult
  next: number
  pending: string
  /** Bytes of a character split across two windows wait here for the rest. */
  decoder: StringDecoder
  done: boolean
}

export default class InstanceLogs extends BaseCommand<typeof InstanceLogs> {
  static override summary = 'Print the console output of one or more instances.'
  static override description = `Prints what the instances have written so far and exits. With --follow it keeps printing new output until every instance has stopped, or until Ctrl-C.
With several instances each line is prefixed with the instance name.`
  static override hiddenAliases = commandAliases(INSTANCE_TOPICS, ['logs', 'log'])
  static override examples = [
    '<%= config.bin %> instance logs nginx-1a747',
    '<%= config.bin %> instance logs nginx-1a747 --tail 20',
    '<%= config.bin %> instance logs nginx-1a747 redis-9f2c1 --follow --no-prefix',
  ]
  static override strict = false
  static override args = {instance: Args.string({description: 'Name or UUID of an instance (several may be given).', required: true})}

  static override flags = {
    follow: Flags.boolean({char: 'f', summary: 'Keep printing new output until the instances stop.'}),
    tail: Flags.integer({char: 'n', min: -1, default: -1, summary: 'Print only the last N lines first (-1: everything).'}),
    prefix: Flags.boolean({char: 'p', allowNo: true, summary: 'Prefix each line with the instance name (default when several instances are given).'}),
  }

  private width = 0
  private withPrefix = false

  async run(): Promise<InstanceLogResult[]> {
    const client = await this.client()
    const ids = [...new Set(this.positional)]
    this.withPrefix = this.flags.prefix ?? ids.length > 1
    const cursors: Cursor[] = []
    for (const id of ids) {
      const cursor = await this.readHistory(client, id)
      if (cursor) cursors.push(cursor)
    }
    this.width = Math.max(0, ...cursors.map((c) => c.result.name.length))
    for (const cursor of cursors) this.emit(cursor, cursor.result.output, !this.flags.follow)
    if (this.flags.follow && cursors.length > 0) await this.follow(client, cursors)
    return cursors.map((c) => c.result)
  }

  /** Reads the existing console backwards, page by page, until --tail lines or the beginning. */
  private async readHistory(client: UkcClient, id: string): Promise<Cursor | undefined> {
    const tail = this.flags.tail
    const first = await this.page(client, id, -PAGE, PAGE)
    if (!first) return undefined
    const chunks = [bytes(first)]
    let lines = lineCount(chunks)
    let start = first.range?.start ?? 0
    const floor = first.available?.start ?? 0
    const uuid = first.uuid || id
    while (start > floor && (tail < 0 || lines <= tail)) {
      const offset = Math.max(floor, start - PAGE)
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

  /** One window of the console; a failed item (e.g. not found) is reported and yields nothing. */
  private async page(client: UkcClient, id: string, offset: number, limit: number): Promise<InstanceLog | undefined> {
    const result = await getInstanceLogs(client, id, offset, limit)
    const [item] = this.settleBatch(result.items)
    return item
  }

  /** Polls every instance for new output until each has stopped or Ctrl-C. */
  private async follow(client: UkcClient, cursors: Cursor[]): Promise<void> {
    const interrupt = new AbortController()
    const onSigint = () => interrupt.abort()
    process.once('SIGINT', onSigint)
    try {
      while (!interrupt.signal.aborted && cursors.some((c) => !c.done)) {
        for (const cursor of cursors.filter((c) => !c.done)) await this.poll(client, cursor)
        if (cursors.every((c) => c.done)) break
        await delay(POLL_MS, undefined, {signal: interrupt.signal}).catch(() => undefined)
      }
    } finally {
      process.removeListener('SIGINT', onSigint)
    }
    for (const cursor of cursors) this.emit(cursor, '', true)
    if (interrupt.signal.aborted) process.exitCode = ExitCode.Interrupted
  }

  private async poll(client: UkcClient, cursor: Cursor): Promise<void> {
    let state: string | undefined
    for (;;) {
      const result = await getInstanceLogs(client, cursor.id, cursor.next, PAGE)
      const [item] = result.items
      if (!item || isFailed(item)) {
        // Gone (e.g. removed, or delete-on-stop): nothing more will come.
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
    if (state === 'stopped') await this.exited(client, cursor)
  }

  private async exited(client: UkcClient, cursor: Cursor): Promise<void> {
    cursor.done = true
    this.emit(cursor, '', true)
    const [instance] = (await getInstances(client, [cursor.id])).items
    const reason = (instance && !isFailed(instance) ? stopReasonText(instance) : '') || 'stopped'
    cursor.result.exited = reason
    this.note(`${this.withPrefix ? `${cursor.result.name}: ` : ''}The instance has exited (${reason}).`)
    this.note(`To see why, run: ${this.config.bin} instance get ${cursor.result.name}`)
  }

  /** Prints whole lines (prefixed when asked); `flush` also prints an unfinished last line. */
  private emit(cursor: Cursor, text: string, flush: boolean): void {
    if (this.jsonEnabled()) return
    const all = cursor.pending + text
    const cut = flush ? all.length : all.lastIndexOf('\n') + 1
    cursor.pending = all.slice(cut)
    const ready = all.slice(0, cut)
    if (!ready) return
    if (!this.withPrefix) {
      this.out(ready)
      return
    }
    const prefix = `${cursor.result.name.padEnd(this.width)} | `
    const lines = ready.replace(/\n$/, '').split('\n')
    this.out(lines.map((line) => `${prefix}${line}`).join('\n'))
  }
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
    if (chunk.length > 0) last = chunk[chunk.length - 1]
  }
  return last === 0x0a ? count : count + 1
}

function lastLines(text: string, count: number): string {
  if (count === 0) return ''
  const trailing = text.endsWith('\n')
  const lines = (trailing ? text.slice(0, -1) : text).split('\n')
  return lines.slice(-count).join('\n') + (trailing ? '\n' : '')
}
