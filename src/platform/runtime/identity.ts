// Who instance processes run as: ONE policy, a function of the instance's user. When the platform
// runs as root, instances never run privileged (Postgres refuses root, and an instance must not own
// the machine): each user's instances run as uid and gid `first + index` of the platform's uid block
// (isolation/uid-blocks.ts), so users cannot read each other's files or /proc/<pid>/environ, or
// signal each other's processes. Without a usable block they fall back to `nobody`, shared by all.
// Not as root, they keep the platform's own identity.
// The file rules that go with it live here too: what an instance owns (its data dir), and what it
// may only read (its instance dir, console log, hosts file: the platform's, group = its gid).
// Kept free of heavy imports: the CLI's start-up check (../instance-access.ts) uses it.
import fs from 'node:fs'
import path from 'node:path'

import type {UidBlock} from '../isolation/uid-blocks.js'

export interface RunAs {
  uid: number
  gid: number
  /** Shown in messages, e.g. `uid 1879048193` or `nobody`. */
  user: string
}

/** What the policy looks at: the user the instance belongs to, and the platform's uid block. */
export interface InstanceOwner {
  name: string
  /** The user's index (0..15): its place in the uid block (and its private network). */
  index: number
  /** The platform's uid block; undefined = no per-user uids (as root: `nobody` for everyone). */
  uids?: UidBlock
}

const NOBODY = 65_534

function lookup(file: string, name: string): string[] | undefined {
  try {
    return fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .map((line) => line.split(':'))
      .find((fields) => fields[0] === name)
  } catch {
    return undefined
  }
}

let nobodyCache: RunAs | undefined

function nobody(): RunAs {
  if (nobodyCache) return nobodyCache
  const user = lookup('/etc/passwd', 'nobody')
  const group = lookup('/etc/group', 'nogroup') ?? lookup('/etc/group', 'nobody')
  const uid = user ? Number(user[2]) : NOBODY
  const gid = group ? Number(group[2]) : user ? Number(user[3]) : NOBODY
  return (nobodyCache = {uid, gid, user: 'nobody'})
}

export function platformIsPrivileged(): boolean {
  return process.getuid?.() === 0
}

/** THE identity policy: who the processes of `owner`'s instances run as (undefined = the platform's own). */
export function instanceIdentity(owner: InstanceOwner): RunAs | undefined {
  if (!platformIsPrivileged()) return undefined
  if (!owner.uids) return nobody()
  const uid = owner.uids.first + owner.index
  return {uid, gid: uid, user: `uid ${uid}`}
}

/** Gives `file` to `runAs` (no-op when instances keep the platform's identity). */
export function giveTo(runAs: RunAs | undefined, file: string): void {
  if (runAs) fs.chownSync(file, runAs.uid, runAs.gid)
}

/**
 * Gives `dir` and everything below it to `runAs` when `dir` belongs to someone else: data made under
 * an earlier identity (`nobody`, or another uid block after the data dir was copied).
 */
export function giveTreeTo(runAs: RunAs | undefined, dir: string): void {
  if (!runAs) return
  const stat = fs.lstatSync(dir)
  if (stat.uid === runAs.uid && stat.gid === runAs.gid) return
  // Children first, `dir` last: an interrupted walk is redone at the next boot.
  const walk = (current: string): void => {
    if (fs.lstatSync(current).isDirectory()) for (const entry of fs.readdirSync(current)) walk(path.join(current, entry))
    fs.lchownSync(current, runAs.uid, runAs.gid)
  }
  walk(dir)
}

/** A directory of the platform that only `runAs` may enter and read besides it: 0750, group = its gid. */
export function makeReadableDir(runAs: RunAs | undefined, dir: string): void {
  fs.mkdirSync(path.dirname(dir), {recursive: true, mode: 0o755}) // parents made here stay traversable
  fs.mkdirSync(dir, {recursive: true, mode: 0o750})
  fs.chmodSync(dir, 0o750)
  if (runAs) fs.chownSync(dir, process.getuid?.() ?? 0, runAs.gid)
}

/** A file of the platform that only `runAs` may read besides it: 0640, group = its gid. */
export function makeReadableFile(runAs: RunAs | undefined, file: string | number): void {
  if (typeof file === 'number') {
    fs.fchmodSync(file, 0o640)
    if (runAs) fs.fchownSync(file, process.getuid?.() ?? 0, runAs.gid)
    return
  }
  fs.chmodSync(file, 0o640)
  if (runAs) fs.chownSync(file, process.getuid?.() ?? 0, runAs.gid)
}
