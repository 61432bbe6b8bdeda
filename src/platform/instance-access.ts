// Start-up check: can the instance processes reach what they need? When the platform runs as root
// they run unprivileged, each user under a uid of their own (runtime/identity.ts), so every ancestor
// of the data dir must let them pass (x) and the node binary that runs the built-in images must be
// executable by them. The answer is one line that names the uid checked, the directory and what to
// do. Light on purpose: `ukc local start` runs it before spawning the daemon, and the daemon runs it
// again. Before the daemon has claimed the data dir's uid block, the block it would claim is checked.
import fs from 'node:fs'
import path from 'node:path'

import {plannedUidBlock, unusableReason, type UidBlock} from './isolation/uid-blocks.js'
import {instanceIdentity, platformIsPrivileged, type InstanceOwner, type RunAs} from './runtime/identity.js'

/** The platform refuses to start: `message` is one line for the user. */
export class InstanceAccessError extends Error {}

const EXECUTE = 0o1
const READ = 0o4

/** Whether `who` may `bits` (r=4, x=1) `file` by its mode bits (owner, else group, else others). */
function permits(stat: fs.Stats, who: RunAs, bits: number): boolean {
  const shift = stat.uid === who.uid ? 6 : stat.gid === who.gid ? 3 : 0
  return ((stat.mode >> shift) & bits) === bits
}

/** The directories from `/` down to `dir`'s parent that exist (a dir to be created is checked later). */
function existingAncestors(dir: string): string[] {
  const ancestors: string[] = []
  for (let current = path.dirname(dir); ; current = path.dirname(current)) {
    ancestors.unshift(current)
    if (path.dirname(current) === current) break
  }
  return ancestors.filter((ancestor) => fs.existsSync(ancestor))
}

function blockedDir(dirs: string[], who: RunAs): string | undefined {
  return dirs.find((dir) => !permits(fs.statSync(dir), who, EXECUTE))
}

function problemFor(dataDir: string, who: RunAs, nodeBinary: string): string | undefined {
  const blocked = blockedDir(existingAncestors(dataDir), who)
  if (blocked) {
    return (
      `instance processes run as ${who.user} and cannot enter ${blocked}, which holds the data dir ${dataDir}: ` +
      `choose a data dir under a traversable directory such as the default /var/lib/ukc/local, or chmod o+x ${blocked}`
    )
  }
  const node = fs.realpathSync(nodeBinary)
  const nodeBlocked = blockedDir([...existingAncestors(node)], who)
  if (nodeBlocked || !permits(fs.statSync(node), who, EXECUTE | READ)) {
    const fix = nodeBlocked ? `chmod o+x ${nodeBlocked}` : `chmod o+rx ${node}`
    return `instance processes run as ${who.user} and cannot run node at ${node}: install Node.js where every user may run it (e.g. /usr/bin/node), or ${fix}`
  }
  return undefined
}

/** Users by name alone (before the platform knows them), or as the identity policy sees them. */
export type AccessUsers = Array<{name: string}> | InstanceOwner[]

/** The uid block the data dir has or would get, when its uids can be used (else: `nobody`). */
function plannedBlock(dataDir: string): UidBlock | undefined {
  try {
    const block = plannedUidBlock(dataDir)
    return unusableReason(block) ? undefined : block
  } catch {
    return undefined
  }
}

function ownersOf(dataDir: string, users: AccessUsers): InstanceOwner[] {
  let planned: UidBlock | undefined | null = null
  return users.map((user, index) => {
    if ('index' in user) return user
    if (planned === null) planned = platformIsPrivileged() ? plannedBlock(dataDir) : undefined
    return {name: user.name, index, uids: planned}
  })
}

/**
 * What stops the instances of `users` from working with this data dir, as one line, or undefined.
 * Only existing directories are checked: the daemon checks again once it has created the data dir.
 */
export function instanceAccessProblem(dataDir: string, users: AccessUsers, nodeBinary = process.execPath): string | undefined {
  const absolute = path.resolve(dataDir)
  const identities = new Map<number, RunAs>()
  for (const owner of ownersOf(absolute, users)) {
    const who = instanceIdentity(owner)
    if (who) identities.set(who.uid, who)
  }
  for (const who of identities.values()) {
    const problem = problemFor(absolute, who, nodeBinary)
    if (problem) return problem
  }
  return undefined
}

/** Throws an InstanceAccessError with the one-line problem, if there is one. */
export function assertInstanceAccess(dataDir: string, users: AccessUsers, nodeBinary = process.execPath): void {
  const problem = instanceAccessProblem(dataDir, users, nodeBinary)
  if (problem) throw new InstanceAccessError(problem)
}
