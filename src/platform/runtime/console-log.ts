// An instance's console: stdout+stderr bytes appended to `<instanceDir>/console.log`, bounded in
// size. Offsets are absolute over the instance's life: when the file grows past the bound, the
// oldest bytes are dropped and `available.start` moves forward (kept in `console.start`). Its files
// are the platform's, readable by the instance's own identity only (identity.ts).
import fs from 'node:fs'
import path from 'node:path'

import {writeFileDurablySync} from '../store/durable-file.js'
import {makeReadableFile, type RunAs} from './identity.js'

export const CONSOLE_LOG_BYTES = 1024 * 1024
const MAX_READ = 4 * 1024 * 1024

export interface LogWindow {
  output: Buffer
  range: {start: number; end: number}
  available: {start: number; end: number}
}

export class ConsoleLog {
  private readonly file: string
  private readonly startFile: string
  private fd: number | undefined
  private start: number
  private size: number

  /** `reader`: who the instance runs as (the only one besides the platform who may read the log). */
  constructor(
    dir: string,
    private readonly capacity = CONSOLE_LOG_BYTES,
    private readonly reader?: RunAs,
  ) {
    this.file = path.join(dir, 'console.log')
    this.startFile = path.join(dir, 'console.start')
    this.start = readStart(this.startFile)
    this.size = fileSize(this.file)
  }

  append(chunk: Buffer | string): void {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    if (bytes.length === 0) return
    if (this.fd === undefined) {
      this.fd = fs.openSync(this.file, 'a', 0o640)
      makeReadableFile(this.reader, this.fd)
    }
    fs.writeSync(this.fd, bytes)
    this.size += bytes.length
    // Compact only once well past the bound, so the rewrite happens rarely.
    if (this.size > this.capacity + this.capacity / 4) this.compact()
  }

  read(offset: number, limit: number): LogWindow {
    const available = {start: this.start, end: this.start + this.size}
    let from = offset < 0 ? available.end + offset : offset
    from = Math.min(Math.max(from, available.start), available.end)
    const wanted = limit > 0 ? Math.min(limit, MAX_READ) : MAX_READ
    const length = Math.min(wanted, available.end - from)
    const output = Buffer.alloc(length)
    if (length > 0) {
      const fd = fs.openSync(this.file, 'r')
      try {
        const read = fs.readSync(fd, output, 0, length, from - this.start)
        return {output: output.subarray(0, read), range: {start: from, end: from + read}, available}
      } finally {
        fs.closeSync(fd)
      }
    }
    return {output, range: {start: from, end: from}, available}
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd)
    this.fd = undefined
  }

  private compact(): void {
    const keep = this.capacity
    const drop = this.size - keep
    const tail = Buffer.alloc(keep)
    const fd = fs.openSync(this.file, 'r')
    try {
      fs.readSync(fd, tail, 0, keep, drop)
    } finally {
      fs.closeSync(fd)
    }
    this.close()
    writeFileDurablySync(this.file, tail, 0o640, (temp) => makeReadableFile(this.reader, temp))
    this.start += drop
    this.size = keep
    fs.writeFileSync(this.startFile, String(this.start), {mode: 0o640})
    makeReadableFile(this.reader, this.startFile)
  }
}

function readStart(file: string): number {
  try {
    const value = Number(fs.readFileSync(file, 'utf8').trim())
    return Number.isFinite(value) && value >= 0 ? value : 0
  } catch {
    return 0
  }
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size
  } catch {
    return 0
  }
}
