// initdb and `postgres --single` look their effective uid up in /etc/passwd and stop when it has no
// entry, which per-user instance uids never have (the platform creates no system accounts). Like the
// official Postgres image, those steps then run with nss_wrapper (Debian: libnss-wrapper), which
// reads a passwd file of our own that names the uid. The server itself does not care.
// Without that library (a machine with only Node), the platform, root whenever uids are per user,
// shows the step the same passwd file as /etc/passwd in a mount namespace of its own (unshare, mount
// and setpriv are util-linux, on every Debian), then drops to the instance uid: nothing else sees it.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {findBinary} from '../host-binaries.js'
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

/** How a step runs so that its uid has a passwd entry. */
export interface PasswdEntry {
  /** Added to the step's environment. */
  env: Record<string, string>
  /** The command line that runs `command`; `asRoot`: spawn it as root (it drops to the instance uid itself). */
  argv(command: string, args: string[]): {command: string; args: string[]; asRoot: boolean}
}

const AS_IS = (command: string, args: string[]): ReturnType<PasswdEntry['argv']> => ({command, args, asRoot: false})

/** The util-linux programs of the mount-namespace way, or undefined when one is missing or we are not root. */
function namespaceTools(): {unshare: string; mount: string; setpriv: string} | undefined {
  if (process.getuid?.() !== 0) return undefined
  const [unshare, mount, setpriv] = ['unshare', 'mount', 'setpriv'].map((name) => findBinary(name))
  return unshare && mount && setpriv ? {unshare, mount, setpriv} : undefined
}

/**
 * A passwd entry for `runAs` while `steps` run (nothing to do when the uid has an account).
 * @param findLibraryFile where nss_wrapper's library is (the tests find none to take the other way)
 */
export async function withPasswdEntry<T>(
  runAs: RunAs | undefined,
  dir: string,
  image: string,
  steps: (passwd: PasswdEntry) => Promise<T>,
  findLibraryFile: () => string | undefined = findLibrary,
): Promise<T> {
  if (!runAs || hasAccount(runAs.uid)) return steps({env: {}, argv: AS_IS})
  const library = findLibraryFile()
  const tools = library ? undefined : namespaceTools()
  if (!library && !tools) {
    throw new LaunchError(
      `image ${image} initializes its database as ${runAs.user}, which has no /etc/passwd entry, and needs ${LIBRARY} for that; install it with: apt-get install libnss-wrapper`,
    )
  }
  // In a directory of the platform's own, not the instance's: the instance's uid could swap a file
  // in its own directory for a symlink, which root's writes and bind mounts would follow.
  const files = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-passwd-'))
  fs.chmodSync(files, 0o755)
  const passwd = path.join(files, 'passwd')
  const group = path.join(files, 'group')
  fs.writeFileSync(passwd, `postgres:x:${runAs.uid}:${runAs.gid}:PostgreSQL:${dir}:/bin/false\n`, {mode: 0o644})
  fs.writeFileSync(group, `postgres:x:${runAs.gid}:\n`, {mode: 0o644})
  try {
    if (library) return await steps({env: {LD_PRELOAD: library, NSS_WRAPPER_PASSWD: passwd, NSS_WRAPPER_GROUP: group}, argv: AS_IS})
    const {unshare, mount, setpriv} = tools as NonNullable<typeof tools>
    // sh's arguments: mount, setpriv, the passwd and group files, then the step's own command line.
    const script = `"$1" --bind "$3" /etc/passwd && "$1" --bind "$4" /etc/group && setpriv="$2" && shift 4 && exec "$setpriv" --reuid=${runAs.uid} --regid=${runAs.gid} --clear-groups --no-new-privs -- "$@"`
    return await steps({
      env: {},
      argv: (command, args) => ({
        command: unshare,
        args: ['--mount', '--propagation', 'private', '--', '/bin/sh', '-c', script, 'sh', mount, setpriv, passwd, group, command, ...args],
        asRoot: true,
      }),
    })
  } finally {
    fs.rmSync(files, {recursive: true, force: true})
  }
}
