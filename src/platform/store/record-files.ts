// What a record holds that is large or secret and never changes once written — an instance's args
// and env, a certificate's chain and private key — one JSON file per record in a directory of the
// data dir (`<dataDir>/<dir>/<uuid>.json`, 0600 in a 0700 dir: both hold secrets). Kept out of the
// state file so that the writes every state change makes stay small. The ordering rules live here
// and in Store.flush: a record's file is durable before the state file names the record, and it is
// removed only after the state file no longer does; a file no record names (a crash between) is
// deleted at the next start.
import fs from 'node:fs'
import path from 'node:path'

import {writeFileDurably} from './durable-file.js'

export class RecordFiles<T extends object> {
  readonly dir: string
  /** The value last made durable per record. */
  private readonly saved = new Map<string, T>()
  private readonly writing = new Map<string, Promise<void>>()

  /** `same(saved, current)`: nothing to write (values are replaced, not edited, when they change). */
  constructor(
    dataDir: string,
    dirName: string,
    private readonly same: (saved: T, current: T) => boolean = Object.is,
  ) {
    this.dir = path.join(dataDir, dirName)
    fs.mkdirSync(this.dir, {recursive: true, mode: 0o700})
  }

  private file(uuid: string): string {
    return path.join(this.dir, `${uuid}.json`)
  }

  /** The stored value, or undefined when the file is missing or unreadable. */
  read(uuid: string): Partial<T> | undefined {
    try {
      return JSON.parse(fs.readFileSync(this.file(uuid), 'utf8')) as Partial<T>
    } catch {
      return undefined
    }
  }

  /** The record's value came from its file: nothing to write for it. */
  loaded(uuid: string, value: T): void {
    this.saved.set(uuid, value)
  }

  /** Writes every value not on disk yet; one write per file at a time. */
  async save(entries: Iterable<[uuid: string, value: T]>): Promise<void> {
    const pending: Array<Promise<void>> = []
    for (const [uuid, value] of entries) {
      const saved = this.saved.get(uuid)
      if (saved && this.same(saved, value)) continue
      this.saved.set(uuid, value)
      const previous = this.writing.get(uuid) ?? Promise.resolve()
      const next = previous.then(() => writeFileDurably(this.file(uuid), JSON.stringify(value), 0o600))
      this.writing.set(uuid, next)
      pending.push(
        next.finally(() => {
          if (this.writing.get(uuid) === next) this.writing.delete(uuid)
        }),
      )
    }
    await Promise.all(pending)
  }

  /** Removes the files of records that are gone (after the state file no longer names them). */
  forget(known: Set<string>): void {
    for (const uuid of this.saved.keys()) {
      if (known.has(uuid) || this.writing.has(uuid)) continue
      this.saved.delete(uuid)
      fs.rmSync(this.file(uuid), {force: true})
    }
  }

  /** At start: files no record names. */
  dropStray(known: Set<string>): void {
    for (const name of fs.readdirSync(this.dir)) {
      const uuid = name.replace(/\.json$/, '')
      if (!known.has(uuid)) fs.rmSync(path.join(this.dir, name), {force: true})
    }
  }
}
