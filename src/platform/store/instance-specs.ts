// What an instance was created with and never changes — its args and env — one file per instance
// in `<dataDir>/specs/<uuid>.json` (0600, platform-owned: env holds secrets), written durably once.
// Kept out of the state file so that the writes every state change makes stay small: one user's
// instances with large environments do not make every other user's start and stop slow.
import fs from 'node:fs'
import path from 'node:path'

import type {InstanceRecord} from '../types.js'
import {writeFileDurably} from './durable-file.js'

export const SPECS_DIR = 'specs'

export interface InstanceSpec {
  args: string[]
  env: Record<string, string>
}

export class InstanceSpecs {
  readonly dir: string
  /** The args/env objects last made durable per instance (compared by identity: records are replaced, not edited, when they change). */
  private readonly saved = new Map<string, InstanceSpec>()
  private readonly writing = new Map<string, Promise<void>>()

  constructor(dataDir: string) {
    this.dir = path.join(dataDir, SPECS_DIR)
    fs.mkdirSync(this.dir, {recursive: true, mode: 0o700})
  }

  private file(uuid: string): string {
    return path.join(this.dir, `${uuid}.json`)
  }

  read(uuid: string): InstanceSpec | undefined {
    try {
      const spec = JSON.parse(fs.readFileSync(this.file(uuid), 'utf8')) as Partial<InstanceSpec>
      return {args: spec.args ?? [], env: spec.env ?? {}}
    } catch {
      return undefined
    }
  }

  /** The record's args/env came from its file: nothing to write for it. */
  loaded(uuid: string, record: InstanceRecord): void {
    this.saved.set(uuid, {args: record.args, env: record.env})
  }

  /** Writes the spec of every record whose args/env are not on disk yet; one write per file at a time. */
  async save(records: Iterable<InstanceRecord>): Promise<void> {
    const pending: Array<Promise<void>> = []
    for (const record of records) {
      const saved = this.saved.get(record.uuid)
      if (saved && saved.args === record.args && saved.env === record.env) continue
      const spec = {args: record.args, env: record.env}
      this.saved.set(record.uuid, spec)
      const previous = this.writing.get(record.uuid) ?? Promise.resolve()
      const next = previous.then(() => writeFileDurably(this.file(record.uuid), JSON.stringify(spec), 0o600))
      this.writing.set(record.uuid, next)
      pending.push(next.finally(() => {
        if (this.writing.get(record.uuid) === next) this.writing.delete(record.uuid)
      }))
    }
    await Promise.all(pending)
  }

  /** Removes the files of instances that are gone (after the state file no longer names them). */
  forget(known: Set<string>): void {
    for (const uuid of this.saved.keys()) {
      if (known.has(uuid) || this.writing.has(uuid)) continue
      this.saved.delete(uuid)
      fs.rmSync(this.file(uuid), {force: true})
    }
  }

  /** At start: files no instance names (a crash between a removal and its file's deletion). */
  dropStray(known: Set<string>): void {
    for (const name of fs.readdirSync(this.dir)) {
      const uuid = name.replace(/\.json$/, '')
      if (!known.has(uuid)) fs.rmSync(path.join(this.dir, name), {force: true})
    }
  }
}
