// The SVR4 "newc" cpio header (magic 070701): 13 fixed-width fields of 8 ASCII hex digits after the
// 6-byte magic, then the entry's name and its NUL. volimport streams these headers WITHOUT the
// archive's 4-byte padding (docs/volume-import.md), so no cpio library's writer or reader fits the
// wire (they all pad); the format is small enough to own here, in this one file, for both ends.

export const NEWC_MAGIC = '070701'
/** kraftkit's reader also accepts the CRC variant (its checksum is not checked there either). */
export const NEWC_CRC_MAGIC = '070702'
export const NEWC_HEADER_SIZE = 110
export const TRAILER_NAME = 'TRAILER!!!'
/** newc's size fields are 32-bit: no entry can carry 4 GiB or more. */
export const NEWC_MAX_SIZE = 0xffff_ffff

export const S_IFMT = 0o170000
export const S_IFDIR = 0o040000
export const S_IFREG = 0o100000
export const S_IFLNK = 0o120000

export interface NewcHeader {
  ino: number
  /** st_mode: file type bits and permission bits. */
  mode: number
  uid: number
  gid: number
  nlink: number
  /** Seconds since the epoch. */
  mtime: number
  /** Content bytes (a symlink's target for symlinks). */
  size: number
  /** The name's bytes plus its NUL. */
  nameSize: number
}

/** Field order and offsets: magic, then these, 8 hex digits each (devmajor … rdevminor are unused here). */
const FIELDS = ['ino', 'mode', 'uid', 'gid', 'nlink', 'mtime', 'size', 'devmajor', 'devminor', 'rdevmajor', 'rdevminor', 'nameSize', 'check'] as const

export class NewcError extends Error {}

function hex(value: number, field: string): string {
  if (!Number.isInteger(value) || value < 0 || value > NEWC_MAX_SIZE) throw new NewcError(`${field} ${value} does not fit a newc header`)
  return value.toString(16).toUpperCase().padStart(8, '0')
}

/** The wire form of one entry's start: the 110-byte header, the name and its NUL (no padding). */
export function encodeEntryStart(header: Omit<NewcHeader, 'nameSize'>, name: string): Buffer {
  const nameBytes = Buffer.from(`${name}\0`, 'utf8')
  const values: Record<(typeof FIELDS)[number], number> = {...header, nameSize: nameBytes.length, devmajor: 0, devminor: 0, rdevmajor: 0, rdevminor: 0, check: 0}
  const text = NEWC_MAGIC + FIELDS.map((field) => hex(values[field], field)).join('')
  return Buffer.concat([Buffer.from(text, 'ascii'), nameBytes])
}

/** The trailer entry that ends the stream. */
export function encodeTrailer(): Buffer {
  return encodeEntryStart({ino: 0, mode: 0, uid: 0, gid: 0, nlink: 1, mtime: 0, size: 0}, TRAILER_NAME)
}

/** Reads a 110-byte header; throws NewcError when it is not one. */
export function decodeHeader(bytes: Buffer): NewcHeader {
  if (bytes.length !== NEWC_HEADER_SIZE) throw new NewcError(`a newc header is ${NEWC_HEADER_SIZE} bytes, got ${bytes.length}`)
  const magic = bytes.toString('ascii', 0, 6)
  if (magic !== NEWC_MAGIC && magic !== NEWC_CRC_MAGIC) throw new NewcError(`not a newc header (magic ${JSON.stringify(magic)})`)
  const values: Partial<Record<(typeof FIELDS)[number], number>> = {}
  FIELDS.forEach((field, i) => {
    const text = bytes.toString('ascii', 6 + i * 8, 14 + i * 8)
    if (!/^[0-9A-Fa-f]{8}$/.test(text)) throw new NewcError(`bad ${field} field ${JSON.stringify(text)} in a newc header`)
    values[field] = Number.parseInt(text, 16)
  })
  const {ino = 0, mode = 0, uid = 0, gid = 0, nlink = 0, mtime = 0, size = 0, nameSize = 0} = values
  return {ino, mode, uid, gid, nlink, mtime, size, nameSize}
}
