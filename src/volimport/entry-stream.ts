// A source tree as the bytes volimport reads: per entry its newc header and name, then its content
// (a file's bytes in CHUNK_SIZE pieces, a symlink's target), no padding; the trailer last. Files are
// read as they are sent, so memory stays at one chunk whatever the tree's size.
import fs from 'node:fs'

import {S_IFDIR, S_IFLNK, S_IFREG, encodeEntryStart, encodeTrailer} from './newc.js'
import {CHUNK_SIZE} from './protocol.js'
import type {SourceEntry, SourceTree} from './source-tree.js'

const TYPE_BITS = {directory: S_IFDIR, file: S_IFREG, symlink: S_IFLNK} as const

function entryStart(entry: SourceEntry, ino: number): Buffer {
  return encodeEntryStart(
    {ino, mode: TYPE_BITS[entry.kind] | (entry.mode & 0o7777), uid: 0, gid: 0, nlink: entry.kind === 'directory' ? 2 : 1, mtime: Math.max(0, entry.mtimeS), size: entry.size},
    entry.name,
  )
}

/** How many bytes wireChunks yields for `tree` (kraft compares the archive's size with the free space). */
export function wireSize(tree: SourceTree): number {
  return tree.entries.reduce((sum, entry, i) => sum + entryStart(entry, i + 1).length + entry.size, encodeTrailer().length)
}

/**
 * The stream, small pieces (headers, small files, link targets) joined up to CHUNK_SIZE so that a
 * tree of small files is not sent as thousands of tiny writes (and TLS records); throws when a file
 * cannot be read or changed size since the scan.
 */
export async function* wireChunks(tree: SourceTree): AsyncGenerator<Buffer> {
  let pending: Buffer[] = []
  let size = 0
  for await (const piece of entryPieces(tree)) {
    if (size + piece.length > CHUNK_SIZE && size > 0) {
      yield Buffer.concat(pending, size)
      pending = []
      size = 0
    }
    if (piece.length >= CHUNK_SIZE) {
      yield piece
      continue
    }
    pending.push(piece)
    size += piece.length
  }
  if (size > 0) yield Buffer.concat(pending, size)
}

async function* entryPieces(tree: SourceTree): AsyncGenerator<Buffer> {
  let ino = 0
  for (const entry of tree.entries) {
    yield entryStart(entry, ++ino)
    if (entry.kind === 'symlink') yield Buffer.from(entry.target ?? '', 'utf8')
    if (entry.kind === 'file' && entry.size > 0) yield* fileContent(entry)
  }
  yield encodeTrailer()
}

async function* fileContent(entry: SourceEntry): AsyncGenerator<Buffer> {
  let handle: fs.promises.FileHandle
  try {
    handle = await fs.promises.open(entry.path, 'r')
  } catch (error) {
    throw new Error(`cannot read ${entry.path}: ${(error as Error).message}`)
  }
  try {
    if ((await handle.stat()).size !== entry.size) throw new Error(`${entry.path} changed size while it was being imported`)
    let left = entry.size
    while (left > 0) {
      const buffer = Buffer.allocUnsafe(Math.min(CHUNK_SIZE, left))
      const {bytesRead} = await handle.read(buffer, 0, buffer.length, entry.size - left)
      if (bytesRead === 0) throw new Error(`${entry.path} changed size while it was being imported`)
      left -= bytesRead
      yield buffer.subarray(0, bytesRead)
    }
  } finally {
    await handle.close()
  }
}
