// One JSON file written crash-safely (durable-file.ts). Writes are coalesced: changes made while a
// write is in flight go out together in the next one, and every caller's promise resolves only once a
// write that includes its change is on disk.
import fs from 'node:fs'

import {writeFileDurably} from './durable-file.js'

export class StateFile<T> {
  private writing?: Promise<void>
  private pending?: Promise<void>

  constructor(
    readonly file: string,
    private readonly snapshot: () => T,
  ) {}

  /** The stored value, or undefined when there is none yet. */
  read(): T | undefined {
    let text: string
    try {
      text = fs.readFileSync(this.file, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw error
    }
    return JSON.parse(text) as T
  }

  /** Resolves once the current in-memory state (as `snapshot()` sees it now or later) is durable. */
  save(): Promise<void> {
    if (!this.writing) {
      this.writing = this.writeNow().finally(() => {
        this.writing = undefined
      })
      return this.writing
    }
    // A write is in flight with an older snapshot: queue exactly one more after it.
    this.pending ??= this.writing.then(
      () => this.next(),
      () => this.next(),
    )
    return this.pending
  }

  private next(): Promise<void> {
    this.pending = undefined
    return this.save()
  }

  private async writeNow(): Promise<void> {
    await writeFileDurably(this.file, JSON.stringify(this.snapshot()), 0o600)
  }
}
