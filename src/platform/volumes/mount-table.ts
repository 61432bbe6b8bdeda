// The kernel's table of mounts (/proc/self/mountinfo) and the util-linux tools that change it. The
// platform's volume mounts live below `<dataDir>/volumes/`; a daemon killed with -9 leaves them
// there, so the next start (and `ukc local reset`) find them here and unmount them. Light to import:
// `ukc local reset` uses it.
import {execFile} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

export interface MountEntry {
  /** Where it is mounted (absolute, as the kernel reports it). */
  target: string
  readonly: boolean
  fstype: string
  source: string
}

/** mountinfo escapes space, tab, newline and backslash as octal (`\040`). */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)))
}

/** Every mount of this mount namespace; empty where /proc is missing. */
export function mountTable(): MountEntry[] {
  let text: string
  try {
    text = fs.readFileSync('/proc/self/mountinfo', 'utf8')
  } catch {
    return []
  }
  const entries: MountEntry[] = []
  for (const line of text.split('\n')) {
    // id parent major:minor root target options [optional...] - fstype source superoptions
    const fields = line.split(' ')
    const dash = fields.indexOf('-')
    if (fields.length < 7 || dash < 6) continue
    const options = fields[5].split(',')
    entries.push({target: unescape(fields[4]), readonly: options.includes('ro'), fstype: fields[dash + 1] ?? '', source: unescape(fields[dash + 2] ?? '')})
  }
  return entries
}

/** The mounts at `dir` or below it, deepest (and, at one place, most recent) first. */
export function mountsUnder(dir: string): MountEntry[] {
  const root = path.resolve(dir)
  const inside = mountTable().filter((m) => m.target === root || m.target.startsWith(`${root}/`))
  return inside.reverse().sort((a, b) => b.target.length - a.target.length)
}

/** The topmost mount at exactly `target`, if any. */
export function mountAt(target: string): MountEntry | undefined {
  const root = path.resolve(target)
  return mountTable()
    .filter((m) => m.target === root)
    .pop()
}

/** Runs `mount` or `umount`; rejects with the tool's own message (one line). */
export function runMountTool(tool: 'mount' | 'umount', args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(tool, args, {timeout: 60_000}, (error, _stdout, stderr) => {
      if (!error) return resolve()
      const message = String(stderr).trim().split('\n').pop() || error.message
      reject(new Error(`${tool} ${args.join(' ')}: ${message}`))
    })
  })
}

/** Unmounts `target` once; when it is busy, detaches it lazily (it goes once its last user does). */
export async function unmount(target: string, log?: (line: string) => void): Promise<void> {
  try {
    await runMountTool('umount', [target])
  } catch (error) {
    if (!mountAt(target)) return // someone else unmounted it meanwhile
    log?.(`${(error as Error).message}; detaching it lazily`)
    await runMountTool('umount', ['-l', target])
  }
}

/** Unmounts everything mounted at `dir` or below it (stacked mounts too); returns the targets. */
export async function unmountAllUnder(dir: string, log?: (line: string) => void): Promise<string[]> {
  const done: string[] = []
  for (let round = 0; round < 256; round++) {
    const [first] = mountsUnder(dir)
    if (!first) return done
    await unmount(first.target, log)
    done.push(first.target)
  }
  throw new Error(`cannot unmount everything below ${dir}`)
}
