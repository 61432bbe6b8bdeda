// Who instance processes run as, and the port they listen on. When the platform runs as root,
// instances run as `nobody`/`nogroup` (Postgres refuses to run as root, and an instance should not
// own the machine). Instances are therefore never privileged, so an instance port below 1024 is
// served by the process on port + 10000; the private endpoint still binds the real port when the
// platform itself may (root), else it binds port + 10000 too.
import fs from 'node:fs'

export interface RunAs {
  uid: number
  gid: number
  user: string
}

const NOBODY = 65_534
export const LOW_PORT_SHIFT = 10_000

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

let cached: RunAs | undefined | null = null

/** The identity instance processes get, or undefined to keep the platform's own (not root). */
export function instanceIdentity(): RunAs | undefined {
  if (cached !== null) return cached
  if (process.getuid?.() !== 0) return (cached = undefined)
  const user = lookup('/etc/passwd', 'nobody')
  const group = lookup('/etc/group', 'nogroup') ?? lookup('/etc/group', 'nobody')
  const uid = user ? Number(user[2]) : NOBODY
  const gid = group ? Number(group[2]) : user ? Number(user[3]) : NOBODY
  return (cached = {uid, gid, user: 'nobody'})
}

export function platformIsPrivileged(): boolean {
  return process.getuid?.() === 0
}

/** Port the instance process listens on for instance port `port`. */
export function backendPort(port: number): number {
  return port < 1024 ? port + LOW_PORT_SHIFT : port
}

/** Port the platform's private endpoint binds for instance port `port`. */
export function endpointPort(port: number): number {
  return port < 1024 && !platformIsPrivileged() ? port + LOW_PORT_SHIFT : port
}

/** Gives `path` to the instance identity (no-op when instances run as the platform's user). */
export function giveToInstance(path: string): void {
  const who = instanceIdentity()
  if (who) fs.chownSync(path, who.uid, who.gid)
}
