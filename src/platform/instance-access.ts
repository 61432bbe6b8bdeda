// Start-up check: can the instance processes reach what they need? When the platform runs as root
// they run unprivileged (runtime/identity.ts), so every ancestor of the data dir must let them pass
// (x) and the node binary that runs the built-in images must be executable by them. The answer is
// one line that names the directory and what to do. Light on purpose: `ukc local start` runs it
// before spawning the daemon, and the daemon runs it again.
import fs from 'node:fs'
import path from 'node:path'

import {instanceIdentity, type InstanceOwner, type RunAs} from './runtime/identity.js'

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

/**
 * What stops the instances of `users` from working with this data dir, as one line, or undefined.
 * Only existing directories are checked: the daemon checks again once it has created the data dir.
 */
export function instanceAccessProblem(dataDir: string, users: InstanceOwner[], nodeBinary = process.execPath): string | undefined {
  const absolute = path.resolve(dataDir)
  const identities = new Map<number, RunAs>()
  for (const user of users) {
    const who = instanceIdentity(user)
    if (who) identities.set(who.uid, who)
  }
  for (const who of identities.values()) {
    const problem = problemFor(absolute, who, nodeBinary)
    if (problem) return problem
  }
  return undefined
}

/** Throws an InstanceAccessError with the one-line problem, if there is one. */
export function assertInstanceAccess(dataDir: string, users: InstanceOwner[], nodeBinary = process.execPath): void {
  const problem = instanceAccessProblem(dataDir, users, nodeBinary)
  if (problem) throw new InstanceAccessError(problem)
}
