// initdb and `postgres --single` look their effective uid up in /etc/passwd and stop when it has no
// entry, which per-user instance uids never have (the platform creates no system accounts). Like the
// official Postgres image, those steps then run with nss_wrapper (Debian: libnss-wrapper), which
// reads a passwd file of our own that names the uid. The server itself does not care.
import fs from 'node:fs'
import path from 'node:path'

import type {RunAs} from '../identity.js'
import {LaunchError} from '../launch.js'

const LIBRARY = 'libnss_wrapper.so'

function hasAccount(uid: number): boolean {
  try {
    return fs
      .readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .some((line) => line.split(':')[2] === String(uid))
  } catch {
    return false
  }
}

function findLibrary(): string | undefined {
  const dirs = ['/usr/lib', '/usr/lib64', '/usr/local/lib']
  for (const dir of [...dirs]) {
    try {
      for (const entry of fs.readdirSync(dir)) if (entry.endsWith('-linux-gnu')) dirs.push(path.join(dir, entry))
    } catch {
      // no such dir
    }
  }
  return dirs.map((dir) => path.join(dir, LIBRARY)).find((file) => fs.existsSync(file))
}

/** A passwd entry for `runAs` while `steps` run: the environment they need (none when the uid has an account). */
export async function withPasswdEntry<T>(runAs: RunAs | undefined, dir: string, image: string, steps: (env: Record<string, string>) => Promise<T>): Promise<T> {
  if (!runAs || hasAccount(runAs.uid)) return steps({})
  const library = findLibrary()
  if (!library) {
    throw new LaunchError(
      `image ${image} initializes its database as ${runAs.user}, which has no /etc/passwd entry, and needs ${LIBRARY} for that; install it with: apt-get install libnss-wrapper`,
    )
  }
  const passwd = path.join(dir, '.nss-passwd')
  const group = path.join(dir, '.nss-group')
  fs.writeFileSync(passwd, `postgres:x:${runAs.uid}:${runAs.gid}:PostgreSQL:${dir}:/bin/false\n`, {mode: 0o644})
  fs.writeFileSync(group, `postgres:x:${runAs.gid}:\n`, {mode: 0o644})
  try {
    return await steps({LD_PRELOAD: library, NSS_WRAPPER_PASSWD: passwd, NSS_WRAPPER_GROUP: group})
  } finally {
    fs.rmSync(passwd, {force: true})
    fs.rmSync(group, {force: true})
  }
}
