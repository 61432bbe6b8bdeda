// Deleting a directory tree that instances wrote. An unprivileged platform runs instances as itself,
// and an instance may leave a directory without write permission for its owner (a read-only tree it
// imported or unpacked): `rm -r` then fails with EACCES on the entries inside it, although the
// platform owns them and may change their mode. As root nothing of this arises (root removes anyway).
import fs from 'node:fs'
import path from 'node:path'

/** Removes `target` and everything below it (nothing when it does not exist). */
export async function removeTree(target: string): Promise<void> {
  try {
    await fs.promises.rm(target, {recursive: true, force: true})
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code !== 'EACCES' && code !== 'EPERM') throw error
    await makeDirectoriesWritable(target)
    await fs.promises.rm(target, {recursive: true, force: true})
  }
}

/** Gives the owner write and search permission on every directory below `dir` (symlinks not followed). */
async function makeDirectoriesWritable(dir: string): Promise<void> {
  const stat = await fs.promises.lstat(dir).catch(() => undefined)
  if (!stat?.isDirectory()) return
  if ((stat.mode & 0o700) !== 0o700) await fs.promises.chmod(dir, (stat.mode & 0o7777) | 0o700)
  for (const entry of await fs.promises.readdir(dir, {withFileTypes: true})) {
    if (entry.isDirectory()) await makeDirectoriesWritable(path.join(dir, entry.name))
  }
}
