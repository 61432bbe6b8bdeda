// Who instance processes run as: ONE policy, a function of the instance's user. When the platform
// runs as root, instances run unprivileged (Postgres refuses root, and an instance must not own the
// machine): today `nobody`/`nogroup` for every user. Otherwise they keep the platform's own identity.
// Giving each user a uid of their own changes `instanceIdentity` and nothing else.
// Kept free of heavy imports: the CLI's start-up check (../instance-access.ts) uses it.
import fs from 'node:fs'

export interface RunAs {
  uid: number
  gid: number
  /** Shown in messages, e.g. `nobody`. */
  user: string
}

/** What the policy may look at: the user the instance belongs to. */
export interface InstanceOwner {
  name: string
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
export function instanceIdentity(_owner: InstanceOwner): RunAs | undefined {
  return platformIsPrivileged() ? nobody() : undefined
}

/** Gives `file` to `runAs` (no-op when instances keep the platform's identity). */
export function giveTo(runAs: RunAs | undefined, file: string): void {
  if (runAs) fs.chownSync(file, runAs.uid, runAs.gid)
}
