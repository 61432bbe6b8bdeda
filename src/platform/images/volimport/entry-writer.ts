// Where the emulated volimport writes: entries land below the volume's root and nowhere else.
//   - a name is relative: `./` prefixes and `.` parts are dropped; an absolute name or any `..` part
//     is refused (it would leave the volume);
//   - every directory on the way is checked with lstat (created when missing): a symlink there is
//     refused, so an entry can never be written through a link the stream planted earlier
//     (`link -> /etc`, then `link/passwd`);
//   - the last part is never followed either: a file or link that is there is unlinked and the new
//     one created with O_EXCL|O_NOFOLLOW; a directory in the way of a file or link is refused.
// Symlink targets are stored as given (inside the instance they name guest paths); nothing here
// follows them. Modes keep the permission and sticky bits (not setuid/setgid); directories get
// theirs at the end (a read-only directory would refuse its own children otherwise); file and link
// times are the entry's mtime.
import fs from 'node:fs'
import path from 'node:path'

export class EntryRefused extends Error {}

export interface FileSink {
  write(bytes: Buffer): Promise<void>
  close(): Promise<void>
}

const PERMISSIONS = 0o1777
const NEW_FILE = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW

function describe(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code
  if (code === 'ENOSPC') return 'no space left on the volume (ENOSPC)'
  if (code === 'EDQUOT') return 'the volume is full (EDQUOT)'
  if (code === 'EROFS') return 'the volume is read-only (EROFS)'
  return (error as Error).message
}

async function lstatOrNone(file: string): Promise<fs.Stats | undefined> {
  try {
    return await fs.promises.lstat(file)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

export class EntryWriter {
  /** Directories below the root already checked or made (relative paths). */
  private readonly known = new Set<string>([''])
  private readonly directoryModes: Array<{file: string; mode: number; mtime: number}> = []
  private open?: fs.promises.FileHandle

  constructor(private readonly root: string) {}

  async directory(name: string, mode: number, mtime: number): Promise<void> {
    const parts = this.parts(name)
    if (parts.length === 0) return // the volume's root keeps its own mode
    await this.guard(name, async () => {
      const file = await this.place(name, parts, 'directory')
      if (!(await lstatOrNone(file))) await fs.promises.mkdir(file, {mode: 0o700})
      this.known.add(parts.join('/'))
      this.directoryModes.push({file, mode: mode & PERMISSIONS, mtime})
    })
  }

  async file(name: string, mode: number, mtime: number): Promise<FileSink> {
    const parts = this.parts(name)
    if (parts.length === 0) throw new EntryRefused(`${name}: the volume's root is a directory`)
    const handle = await this.guard(name, async () => fs.promises.open(await this.place(name, parts, 'file'), NEW_FILE, 0o600))
    this.open = handle
    return {
      write: (bytes) => this.guard(name, async () => void (await handle.write(bytes))),
      close: () =>
        this.guard(name, async () => {
          this.open = undefined
          try {
            await handle.chmod(mode & PERMISSIONS)
            await handle.utimes(mtime, mtime)
          } finally {
            await handle.close()
          }
        }),
    }
  }

  async symlink(name: string, target: string, mtime: number): Promise<void> {
    const parts = this.parts(name)
    if (parts.length === 0) throw new EntryRefused(`${name}: the volume's root is a directory`)
    await this.guard(name, async () => {
      const file = await this.place(name, parts, 'symlink')
      await fs.promises.symlink(target, file)
      await fs.promises.lutimes(file, mtime, mtime)
    })
  }

  /** The end of the stream: directories get their modes, deepest first. */
  async finish(): Promise<void> {
    const byDepth = [...this.directoryModes].sort((a, b) => b.file.length - a.file.length)
    for (const {file, mode, mtime} of byDepth) {
      await this.guard(path.relative(this.root, file), async () => {
        await fs.promises.chmod(file, mode)
        await fs.promises.utimes(file, mtime, mtime)
      })
    }
  }

  /** After a failure: the file being written is closed. */
  async abort(): Promise<void> {
    const handle = this.open
    this.open = undefined
    await handle?.close().catch(() => undefined)
  }

  /** The name's parts below the root; refuses names that leave it. */
  private parts(name: string): string[] {
    if (name.startsWith('/')) throw new EntryRefused(`${name}: an absolute path would leave the volume`)
    const parts = name.split('/').filter((part) => part !== '' && part !== '.')
    if (parts.includes('..')) throw new EntryRefused(`${name}: a path with .. would leave the volume`)
    return parts
  }

  /** Makes the way to the entry (real directories only) and clears its place; returns its path. */
  private async place(name: string, parts: string[], kind: 'directory' | 'file' | 'symlink'): Promise<string> {
    let dir = this.root
    for (let i = 0; i < parts.length - 1; i++) {
      dir = path.join(dir, parts[i] ?? '')
      const relative = parts.slice(0, i + 1).join('/')
      if (this.known.has(relative)) continue
      const stat = await lstatOrNone(dir)
      if (!stat) await fs.promises.mkdir(dir, {mode: 0o755})
      else if (stat.isSymbolicLink()) throw new EntryRefused(`${name}: ${relative} is a symbolic link; an entry may not be written through one`)
      else if (!stat.isDirectory()) throw new EntryRefused(`${name}: ${relative} is not a directory`)
      this.known.add(relative)
    }
    const file = path.join(dir, parts[parts.length - 1] ?? '')
    const there = await lstatOrNone(file)
    if (there?.isDirectory()) {
      if (kind !== 'directory') throw new EntryRefused(`${name}: a directory is in the way`)
    } else if (there) {
      await fs.promises.unlink(file) // never written through: a link or another file's inode
    }
    return file
  }

  /** Runs a step; a filesystem failure becomes a refusal that names the entry. */
  private async guard<T>(name: string, step: () => Promise<T>): Promise<T> {
    try {
      return await step()
    } catch (error) {
      if (error instanceof EntryRefused) throw error
      throw new EntryRefused(`${name}: ${describe(error)}`)
    }
  }
}
