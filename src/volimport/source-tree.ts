// What `volume import --source DIR` sends: the directory's entries below it (not DIR itself), parents
// before children, names sorted, as kraft names them (`./a`, `./a/b`). Directories, regular files and
// symlinks (the link itself, never what it points to) go; anything else (sockets, FIFOs, devices) is
// skipped and reported, as kraft does.
import fs from 'node:fs'
import path from 'node:path'

import {UsageError} from '../api/index.js'
import {NEWC_MAX_SIZE} from './newc.js'

export type SourceKind = 'directory' | 'file' | 'symlink'

export interface SourceEntry {
  kind: SourceKind
  /** The name in the stream: `./` and the path below the source, with `/`. */
  name: string
  /** Where it is on this machine. */
  path: string
  /** st_mode (type and permission bits). */
  mode: number
  mtimeS: number
  /** Content bytes: the file's size, the symlink target's length, 0 for a directory. */
  size: number
  /** A symlink's target, as stored. */
  target?: string
}

export interface SourceTree {
  root: string
  entries: SourceEntry[]
  /** Entries that are not files, directories or symlinks. */
  skipped: string[]
  counts: Record<SourceKind, number>
  /** Bytes of file content (what `volume import` reports as imported). */
  contentBytes: number
}

const SOURCE_HINT = 'give a directory: ukc volume import --volume VOLUME --source ./data'

/** The tree below `source`; a usage error when it is not a readable directory. */
export async function scanSource(source: string): Promise<SourceTree> {
  const root = path.resolve(source)
  const stat = await fs.promises.stat(root).catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`--source ${source}: ${error.code === 'ENOENT' ? 'no such directory' : error.message}`, SOURCE_HINT)
  })
  if (!stat.isDirectory()) {
    throw new UsageError(`--source ${source} is not a directory: ukc imports directories (Dockerfiles, image references and cpio archives are not supported)`, SOURCE_HINT)
  }
  const tree: SourceTree = {root, entries: [], skipped: [], counts: {directory: 0, file: 0, symlink: 0}, contentBytes: 0}
  await walk(tree, root, '.')
  return tree
}

async function walk(tree: SourceTree, dir: string, name: string): Promise<void> {
  let children: string[]
  try {
    children = (await fs.promises.readdir(dir)).sort()
  } catch (error) {
    throw new UsageError(`cannot read ${dir}: ${(error as Error).message}`, 'check the permissions of the source directory')
  }
  for (const child of children) {
    const full = path.join(dir, child)
    const childName = `${name}/${child}`
    const stat = await fs.promises.lstat(full)
    const base = {name: childName, path: full, mode: stat.mode, mtimeS: Math.floor(stat.mtimeMs / 1000)}
    if (stat.isDirectory()) {
      add(tree, {...base, kind: 'directory', size: 0})
      await walk(tree, full, childName)
    } else if (stat.isFile()) {
      if (stat.size > NEWC_MAX_SIZE) throw new UsageError(`${full} is ${stat.size} bytes: a volume import carries files below 4 GiB only`)
      add(tree, {...base, kind: 'file', size: stat.size})
      tree.contentBytes += stat.size
    } else if (stat.isSymbolicLink()) {
      const target = await fs.promises.readlink(full)
      add(tree, {...base, kind: 'symlink', size: Buffer.byteLength(target), target})
    } else {
      tree.skipped.push(full)
    }
  }
}

function add(tree: SourceTree, entry: SourceEntry): void {
  tree.entries.push(entry)
  tree.counts[entry.kind]++
}
