// Plain-directory volumes (a platform without root, or without mkfs.ext4) have no filesystem of
// their size, so the platform checks the budget itself: while an instance has the volume mounted it
// measures what the directory holds (allocated blocks, so sparse files count as what they use) once
// per interval. A volume over its size that grew since the last check is a violation: the instance
// is stopped. A shrinking one is not, so that an instance can delete files to get back under it.
// Without root, read-only is mode bits only (the instance owns the files and could restore them), so
// the same walk compares sizes and mtimes with the first one and reports any change.
import {createHash} from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'

export interface Usage {
  bytes: number
  /** Changes when any entry is added, removed, resized or modified. */
  fingerprint: string
}

/** What `dir` holds, walking it without following symlinks. */
export async function measureUsage(dir: string): Promise<Usage> {
  const hash = createHash('sha256')
  let bytes = 0
  const pending = [dir]
  while (pending.length > 0) {
    const current = pending.pop() as string
    let entries: fs.Dirent[]
    try {
      entries = await fs.promises.readdir(current, {withFileTypes: true})
    } catch {
      continue // removed meanwhile
    }
    for (const entry of entries) {
      const full = path.join(current, entry.name)
      let stat: fs.Stats
      try {
        stat = await fs.promises.lstat(full)
      } catch {
        continue
      }
      bytes += stat.blocks * 512
      hash.update(`${full}\0${stat.size}\0${stat.mtimeMs}\0${stat.mode}\n`)
      if (entry.isDirectory()) pending.push(full)
    }
  }
  return {bytes, fingerprint: hash.digest('hex')}
}

export interface UsageWatchOptions {
  dir: string
  sizeMb: number
  /** Report changes too (read-only by mode bits only). */
  frozen: boolean
  intervalMs: number
  /** Called once per violation with a message for the instance's log. */
  onViolation(message: string): void
  /** After each check (observers, tests). */
  onMeasured?(usage: Usage): void
}

/** Measures `dir` every interval until closed; the owner (VolumeStorage) closes it on release. */
export class UsageWatch {
  private timer: NodeJS.Timeout | undefined
  private closed = false
  private last: Usage | undefined
  private baseline: string | undefined

  constructor(private readonly options: UsageWatchOptions) {
    this.schedule(0)
  }

  close(): void {
    this.closed = true
    clearTimeout(this.timer)
  }

  private schedule(delayMs: number): void {
    if (this.closed) return
    this.timer = setTimeout(() => void this.check().finally(() => this.schedule(this.options.intervalMs)), delayMs)
  }

  private async check(): Promise<void> {
    const usage = await measureUsage(this.options.dir)
    if (this.closed) return
    const {sizeMb, frozen, onViolation} = this.options
    const size = sizeMb * 1024 * 1024
    const grew = this.last !== undefined && usage.bytes > this.last.bytes
    if (usage.bytes > size && grew) onViolation(`the volume holds ${mib(usage.bytes)} MiB, more than its ${sizeMb} MiB, and grew since the last check`)
    if (frozen) {
      this.baseline ??= usage.fingerprint
      if (usage.fingerprint !== this.baseline) {
        onViolation('the volume is mounted read-only but its files changed')
        this.baseline = usage.fingerprint
      }
    }
    this.last = usage
    this.options.onMeasured?.(usage)
  }
}

function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1)
}
