// The volimport wire pieces both ends share: newc headers (no padding), the server's replies split at
// any boundary, kraft's args, and the stream a directory becomes.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, describe, it} from 'node:test'

import {
  NEWC_HEADER_SIZE,
  ReplyReader,
  ReplyStatus,
  S_IFDIR,
  S_IFLNK,
  S_IFREG,
  TRAILER_NAME,
  decodeHeader,
  decodeStats,
  encodeAck,
  encodeEntryStart,
  encodeFailure,
  encodeStats,
  encodeTrailer,
  errorText,
  parseVolimportArgs,
  scanSource,
  volimportArgs,
  wireChunks,
  wireSize,
} from '../../src/volimport/index.js'

describe('newc headers on the wire', () => {
  it('writes the 110-byte ASCII header kraft sends, then the name and its NUL, with no padding', () => {
    const bytes = encodeEntryStart({ino: 7, mode: S_IFREG | 0o755, uid: 0, gid: 0, nlink: 1, mtime: 0x65000000, size: 5}, './bin/run')
    assert.equal(bytes.length, NEWC_HEADER_SIZE + './bin/run'.length + 1) // 120: a padded archive would have 120 too, so check the text
    const text = bytes.toString('ascii', 0, NEWC_HEADER_SIZE)
    assert.equal(text.slice(0, 6), '070701')
    assert.equal(text.slice(6, 14), '00000007')
    assert.equal(text.slice(14, 22), '000081ED') // 0o100755, upper-case hex as kraftkit writes
    assert.equal(text.slice(54, 62), '00000005')
    assert.equal(text.slice(94, 102), '0000000A') // name size with the NUL
    assert.equal(bytes.subarray(NEWC_HEADER_SIZE).toString('utf8'), './bin/run\0')
    const odd = encodeEntryStart({ino: 1, mode: S_IFDIR | 0o700, uid: 0, gid: 0, nlink: 2, mtime: 0, size: 0}, './ab')
    assert.equal(odd.length, NEWC_HEADER_SIZE + 5, 'no padding to a multiple of 4')
  })

  it('reads back what it wrote, accepts the CRC magic and refuses anything else', () => {
    const header = decodeHeader(encodeEntryStart({ino: 3, mode: S_IFLNK | 0o777, uid: 1000, gid: 1000, nlink: 1, mtime: 1_700_000_000, size: 11}, './link').subarray(0, NEWC_HEADER_SIZE))
    assert.deepEqual(header, {ino: 3, mode: S_IFLNK | 0o777, uid: 1000, gid: 1000, nlink: 1, mtime: 1_700_000_000, size: 11, nameSize: 7})
    const crc = Buffer.from(encodeTrailer().subarray(0, NEWC_HEADER_SIZE))
    crc.write('070702', 0, 'ascii')
    assert.equal(decodeHeader(crc).nameSize, TRAILER_NAME.length + 1)
    assert.throws(() => decodeHeader(Buffer.from('070707'.padEnd(NEWC_HEADER_SIZE, '0'))), /not a newc header/)
    assert.throws(() => decodeHeader(Buffer.from('070701'.padEnd(NEWC_HEADER_SIZE, 'z'))), /bad ino field/)
    assert.throws(() => encodeEntryStart({ino: 1, mode: S_IFREG, uid: 0, gid: 0, nlink: 1, mtime: 0, size: 2 ** 32}, './big'), /does not fit/)
  })
})

describe('server replies', () => {
  it('are read whole whatever the chunking: Ack, Stats, errors ending in End', () => {
    const stream = Buffer.concat([encodeAck(), encodeStats({free: 2 ** 40 + 5, total: 2 ** 41, maxNameSize: 4096}), encodeFailure('./x: no space left on the volume (ENOSPC)')])
    for (const size of [1, 3, 8, 13, stream.length]) {
      const reader = new ReplyReader()
      const replies = []
      for (let i = 0; i < stream.length; i += size) replies.push(...reader.push(stream.subarray(i, i + size)))
      assert.deepEqual(
        replies.map((r) => r.status),
        [ReplyStatus.Ack, ReplyStatus.Stats, ReplyStatus.Error, ReplyStatus.End],
        `chunks of ${size}`,
      )
      assert.deepEqual(decodeStats(replies[1].payload), {free: 2 ** 40 + 5, total: 2 ** 41, maxNameSize: 4096})
      assert.equal(errorText(replies[2].payload), './x: no space left on the volume (ENOSPC)')
    }
  })

  it('lay out little-endian as kraft parses them: int32 status, uint32 length, three uint64', () => {
    const stats = encodeStats({free: 1, total: 2, maxNameSize: 3})
    assert.equal(stats.readInt32LE(0), 2)
    assert.equal(stats.readUInt32LE(4), 24)
    assert.deepEqual([stats.readBigUInt64LE(8), stats.readBigUInt64LE(16), stats.readBigUInt64LE(24)], [1n, 2n, 3n])
    const failure = encodeFailure('nope')
    assert.equal(failure.readInt32LE(0), -1)
    assert.equal(failure.subarray(8, 8 + failure.readUInt32LE(4)).toString(), 'nope\n\0') // kraft drops the last byte, then the newline
  })
})

describe("kraft's args", () => {
  it('are -p 42069 -a AUTH -t SECONDS and parse back', () => {
    const args = volimportArgs({auth: 'A'.repeat(32), timeoutS: 10})
    assert.deepEqual(args, ['-p', '42069', '-a', 'A'.repeat(32), '-t', '10'])
    assert.deepEqual(parseVolimportArgs(args), {port: 42069, auth: 'A'.repeat(32), timeoutS: 10})
    assert.deepEqual(parseVolimportArgs(['-t', '3']), {port: 42069, timeoutS: 3})
    assert.throws(() => parseVolimportArgs(['-p', '70000']), /not a port/)
    assert.throws(() => parseVolimportArgs(['-x', '1']), /unknown argument -x/)
    assert.throws(() => parseVolimportArgs(['-a']), /needs a value/)
  })
})

describe('a directory as a stream', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-volimport-src-'))
  after(() => fs.rmSync(dir, {recursive: true, force: true}))

  it('sends parents before children, sorted, named ./…, symlinks as links, and its size is what it yields', async () => {
    fs.mkdirSync(path.join(dir, 'b/c'), {recursive: true})
    fs.writeFileSync(path.join(dir, 'a.txt'), 'alpha')
    fs.writeFileSync(path.join(dir, 'b/c/big.bin'), Buffer.alloc(200_000, 7))
    fs.symlinkSync('../a.txt', path.join(dir, 'b/link'))
    const tree = await scanSource(dir)
    assert.deepEqual(
      tree.entries.map((e) => [e.name, e.kind]),
      [['./a.txt', 'file'], ['./b', 'directory'], ['./b/c', 'directory'], ['./b/c/big.bin', 'file'], ['./b/link', 'symlink']],
    )
    assert.deepEqual(tree.counts, {directory: 2, file: 2, symlink: 1})
    assert.equal(tree.contentBytes, 200_005)
    const chunks: Buffer[] = []
    for await (const chunk of wireChunks(tree)) chunks.push(chunk)
    const wire = Buffer.concat(chunks)
    assert.equal(wire.length, wireSize(tree))
    assert.ok(chunks.every((c) => c.length <= 64 * 1024), 'content goes in pieces of at most 64 KiB')
    assert.ok(wire.subarray(-encodeTrailer().length).equals(encodeTrailer()), 'the trailer ends it')
    assert.ok(wire.includes(Buffer.from('./b/link\0../a.txt')), 'a symlink carries its target as content')
  })

  it('refuses a source that is missing or not a directory (exit 2)', async () => {
    await assert.rejects(scanSource(path.join(dir, 'nope')), (error: Error & {exitCode?: number}) => /no such directory/.test(error.message) && error.exitCode === 2)
    await assert.rejects(scanSource(path.join(dir, 'a.txt')), (error: Error & {exitCode?: number}) => /is not a directory/.test(error.message) && error.exitCode === 2)
  })
})
