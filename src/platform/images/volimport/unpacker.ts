// The entry stream (src/volimport/newc.ts: header, name + NUL, content, no padding) into the volume,
// as an explicit state machine fed with whatever bytes arrive:
//
//   header  --110 bytes-->                name
//   name    --TRAILER!!!-->               done       (the bytes after it are the client's, not ours)
//   name    --directory-->                header     (one Ack)
//   name    --file or symlink, size 0-->  header     (one Ack; a symlink needs a target)
//   name    --file or symlink, size > 0-> content
//   content --size bytes-->               header     (one Ack)
//   any     --bad header, name, type-->   throws EntryRefused (the connection reports it)
import {MAX_NAME_SIZE} from '../../../volimport/protocol.js'
import {NEWC_HEADER_SIZE, NewcError, type NewcHeader, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, TRAILER_NAME, decodeHeader} from '../../../volimport/newc.js'
import {EntryRefused, type EntryWriter, type FileSink} from './entry-writer.js'

type State =
  | {at: 'header'}
  | {at: 'name'; header: NewcHeader}
  | {at: 'content'; header: NewcHeader; name: string; left: number; sink?: FileSink; target: Buffer[]}
  | {at: 'done'}

export interface FeedResult {
  /** Entries completed by this chunk (one Ack each). */
  completed: number
  /** The trailer was read. */
  finished: boolean
  /** Bytes after the trailer. */
  rest: Buffer
}

export class Unpacker {
  private state: State = {at: 'header'}
  private pending = Buffer.alloc(0)

  constructor(private readonly writer: EntryWriter) {}

  get finished(): boolean {
    return this.state.at === 'done'
  }

  async feed(chunk: Buffer): Promise<FeedResult> {
    let data = chunk
    let completed = 0
    while (data.length > 0 && this.state.at !== 'done') {
      const state = this.state
      if (state.at === 'content') {
        const piece = data.subarray(0, state.left)
        data = data.subarray(piece.length)
        state.left -= piece.length
        if (state.sink) await state.sink.write(piece)
        else state.target.push(Buffer.from(piece))
        if (state.left === 0) {
          await this.complete(state)
          completed++
        }
        continue
      }
      const need = state.at === 'header' ? NEWC_HEADER_SIZE : state.header.nameSize
      const taken = data.subarray(0, need - this.pending.length)
      data = data.subarray(taken.length)
      this.pending = Buffer.concat([this.pending, taken])
      if (this.pending.length < need) break
      const bytes = this.pending
      this.pending = Buffer.alloc(0)
      if (state.at === 'header') this.state = {at: 'name', header: headerOf(bytes)}
      else if (await this.begin(state.header, nameOf(bytes))) completed++
    }
    return {completed, finished: this.state.at === 'done', rest: this.state.at === 'done' ? data : Buffer.alloc(0)}
  }

  /** An entry's start; true when it is complete already (a directory, an empty file). */
  private async begin(header: NewcHeader, name: string): Promise<boolean> {
    if (name === TRAILER_NAME) {
      this.state = {at: 'done'}
      return false
    }
    const type = header.mode & S_IFMT
    if (type === S_IFDIR) {
      if (header.size !== 0) throw new EntryRefused(`${name}: a directory entry with ${header.size} bytes of content`)
      await this.writer.directory(name, header.mode, header.mtime)
      this.state = {at: 'header'}
      return true
    }
    if (type === S_IFLNK) {
      if (header.size < 1 || header.size > MAX_NAME_SIZE) throw new EntryRefused(`${name}: a symbolic link's target must be 1 to ${MAX_NAME_SIZE} bytes`)
      this.state = {at: 'content', header, name, left: header.size, target: []}
      return false
    }
    if (type !== S_IFREG) throw new EntryRefused(`${name}: unsupported entry type 0${type.toString(8)} (files, directories and symbolic links only)`)
    const sink = await this.writer.file(name, header.mode, header.mtime)
    if (header.size === 0) {
      await sink.close()
      this.state = {at: 'header'}
      return true
    }
    this.state = {at: 'content', header, name, left: header.size, sink, target: []}
    return false
  }

  private async complete(state: Extract<State, {at: 'content'}>): Promise<void> {
    if (state.sink) await state.sink.close()
    else await this.writer.symlink(state.name, Buffer.concat(state.target).toString('utf8'), state.header.mtime)
    this.state = {at: 'header'}
  }
}

function headerOf(bytes: Buffer): NewcHeader {
  let header: NewcHeader
  try {
    header = decodeHeader(bytes)
  } catch (error) {
    throw new EntryRefused(error instanceof NewcError ? error.message : String(error))
  }
  if (header.nameSize < 2 || header.nameSize > MAX_NAME_SIZE) throw new EntryRefused(`an entry name of ${header.nameSize - 1} bytes (1 to ${MAX_NAME_SIZE - 1} allowed)`)
  return header
}

function nameOf(bytes: Buffer): string {
  if (bytes[bytes.length - 1] !== 0) throw new EntryRefused('an entry name without its NUL: the stream is out of step')
  const name = bytes.subarray(0, -1)
  if (name.includes(0)) throw new EntryRefused('an entry name with a NUL inside')
  return name.toString('utf8')
}
