// The emulated `official/utils/volimport` server against the real client session (src/volimport) on
// real sockets: a directory arrives whole (files, directories, symlinks, modes, times), what leaves
// the volume is refused (.., absolute names, writing through a symlink), a wrong auth only closes its
// connection, one import runs at a time, and the server ends with the right code.
import assert from 'node:assert/strict'
import {once} from 'node:events'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {after, describe, it} from 'node:test'

import {hashToken} from '../../src/tunnel/index.js'
import {ImportRefusedError, S_IFDIR, S_IFLNK, S_IFREG, encodeEntryStart, encodeTrailer, runImportSession, scanSource, wireChunks, wireSize} from '../../src/volimport/index.js'
import {EntryWriter} from '../../src/platform/images/volimport/entry-writer.js'
import {VolimportServer} from '../../src/platform/images/volimport/server.js'
import {removeTree} from '../../src/platform/store/remove-tree.js'
import {Unpacker} from '../../src/platform/images/volimport/unpacker.js'

const AUTH = 'Zq3v9KpR2mX8wT4nL6yB1cF5hJ7dG0sA'
const MiB = 1024 * 1024
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-volimport-'))
let dirs = 0
const newDir = (label: string): string => fs.mkdtempSync(path.join(scratch, `${label}-${++dirs}-`))

interface Served {
  port: number
  root: string
  finished: Promise<[code: number, why: string]>
  server: VolimportServer
}

const servers: VolimportServer[] = []
after(async () => {
  await Promise.all(servers.map((s) => s.close()))
  await removeTree(scratch) // a test's source has a read-only directory: rm alone fails unless root
})

async function serve(options: {timeoutS?: number; volumeBytes?: number} = {}): Promise<Served> {
  const root = newDir('volume')
  const server = new VolimportServer(
    {host: '127.0.0.1', ports: [0], authSha256: Buffer.from(hashToken(AUTH), 'hex'), authLength: AUTH.length, timeoutS: options.timeoutS ?? 120, root, volumeBytes: options.volumeBytes ?? 64 * MiB},
    () => undefined,
  )
  servers.push(server)
  const finished = once(server, 'finished') as Promise<[number, string]>
  const [port] = await server.listen()
  return {port, root, finished, server}
}

async function connect(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1')
  await once(socket, 'connect')
  return socket
}

async function* of(buffers: Buffer[]): AsyncGenerator<Buffer> {
  yield* buffers
}

type Kind = 'file' | 'dir' | 'symlink'
const TYPE = {file: S_IFREG, dir: S_IFDIR, symlink: S_IFLNK}

/** One crafted entry: what a client that does not walk a real directory may send. */
function entry(name: string, kind: Kind, content = '', perm = 0o644): Buffer {
  const body = Buffer.from(content)
  return Buffer.concat([encodeEntryStart({ino: 1, mode: TYPE[kind] | perm, uid: 0, gid: 0, nlink: 1, mtime: 1_600_000_000, size: body.length}, name), body])
}

async function send(port: number, buffers: Buffer[], auth = AUTH) {
  const socket = await connect(port)
  try {
    const total = buffers.reduce((sum, b) => sum + b.length, 0)
    return await runImportSession({socket, auth, chunks: of([...buffers, encodeTrailer()]), totalBytes: total, force: false, warn: () => undefined})
  } finally {
    socket.destroy()
  }
}

describe('the emulated volimport server', () => {
  it('imports a directory: nested files, an empty and a 200 KB file, a symlink, modes, times; acks each entry; reports the space', async () => {
    const source = newDir('source')
    fs.mkdirSync(path.join(source, 'site/assets'), {recursive: true})
    fs.writeFileSync(path.join(source, 'site/index.html'), '<h1>imported</h1>')
    fs.writeFileSync(path.join(source, 'site/assets/blob.bin'), Buffer.alloc(200_000, 0xab))
    fs.writeFileSync(path.join(source, 'empty'), '')
    fs.writeFileSync(path.join(source, 'run.sh'), '#!/bin/sh\necho hi\n', {mode: 0o755})
    fs.chmodSync(path.join(source, 'run.sh'), 0o755)
    fs.symlinkSync('site/index.html', path.join(source, 'home'))
    fs.mkdirSync(path.join(source, 'locked'))
    fs.writeFileSync(path.join(source, 'locked/inside'), 'kept')
    fs.chmodSync(path.join(source, 'locked'), 0o555)
    fs.utimesSync(path.join(source, 'site/index.html'), 1_500_000_000, 1_500_000_000)

    const {port, root, finished} = await serve({volumeBytes: 64 * MiB})
    const tree = await scanSource(source)
    const socket = await connect(port)
    const result = await runImportSession({socket, auth: AUTH, chunks: wireChunks(tree), totalBytes: wireSize(tree), force: false, warn: () => undefined})
    socket.destroy()

    assert.equal(result.acked, tree.entries.length)
    assert.equal(result.start.total, 64 * MiB)
    assert.ok(result.end.free < result.start.free, `free space shrinks (${result.start.free} → ${result.end.free})`)
    assert.equal(fs.readFileSync(path.join(root, 'site/index.html'), 'utf8'), '<h1>imported</h1>')
    assert.ok(fs.readFileSync(path.join(root, 'site/assets/blob.bin')).equals(Buffer.alloc(200_000, 0xab)))
    assert.equal(fs.statSync(path.join(root, 'empty')).size, 0)
    assert.equal(fs.statSync(path.join(root, 'run.sh')).mode & 0o777, 0o755)
    assert.equal(fs.readlinkSync(path.join(root, 'home')), 'site/index.html')
    assert.equal(fs.statSync(path.join(root, 'locked')).mode & 0o777, 0o555)
    assert.equal(fs.readFileSync(path.join(root, 'locked/inside'), 'utf8'), 'kept')
    assert.equal(Math.floor(fs.statSync(path.join(root, 'site/index.html')).mtimeMs / 1000), 1_500_000_000)
    assert.deepEqual(await finished, [0, 'import complete'])
  })

  it('replaces what is in the way without writing through it: a symlink to a file outside becomes a file', async () => {
    const {port, root} = await serve()
    const outside = path.join(newDir('outside'), 'precious')
    fs.writeFileSync(outside, 'untouched')
    fs.symlinkSync(outside, path.join(root, 'config'))
    fs.writeFileSync(path.join(root, 'old.txt'), 'old')
    await send(port, [entry('./config', 'file', 'new config'), entry('./old.txt', 'file', 'new')])
    assert.equal(fs.readFileSync(outside, 'utf8'), 'untouched')
    assert.equal(fs.lstatSync(path.join(root, 'config')).isFile(), true)
    assert.equal(fs.readFileSync(path.join(root, 'config'), 'utf8'), 'new config')
    assert.equal(fs.readFileSync(path.join(root, 'old.txt'), 'utf8'), 'new')
  })

  for (const [label, stream, reason] of [
    ['a .. that climbs out', () => [entry('../escaped', 'file', 'x')], /\.\.\/escaped: a path with \.\. would leave the volume/],
    ['a .. in the middle', () => [entry('./a/../../escaped', 'file', 'x')], /a path with \.\. would leave the volume/],
    ['an absolute name', (outside: string) => [entry(path.join(outside, 'escaped'), 'file', 'x')], /an absolute path would leave the volume/],
    ['a file through a symlink it planted', (outside: string) => [entry('./ln', 'symlink', outside), entry('./ln/escaped', 'file', 'x')], /\.\/ln\/escaped: ln is a symbolic link; an entry may not be written through one/],
    ['a directory through a relative symlink', () => [entry('./up', 'symlink', '..'), entry('./up/escaped', 'dir', '', 0o755)], /up is a symbolic link/],
  ] as const) {
    it(`refuses ${label}: nothing is written outside, the client gets the reason, the server ends with 1`, async () => {
      const {port, root, finished} = await serve()
      const outside = path.dirname(root) // the escapes aim next to the volume (and at `outside` itself)
      const before = fs.readdirSync(outside).sort()
      await assert.rejects(send(port, stream(outside)), (error: Error) => error instanceof ImportRefusedError && /^transmission failed: /.test(error.message) && reason.test(error.message))
      assert.deepEqual(fs.readdirSync(outside).sort(), before)
      assert.ok(!fs.existsSync(path.join(outside, 'escaped')))
      const [code, why] = await finished
      assert.equal(code, 1)
      assert.match(why, reason)
    })
  }

  it('refuses a wrong auth on that connection only, and one import at a time', async () => {
    const {port, root, finished} = await serve()
    await assert.rejects(send(port, [entry('./x', 'file', 'x')], 'W'.repeat(AUTH.length)), /^Error: authentication failed: wrong auth string$|authentication failed: wrong auth string/)
    assert.ok(!fs.existsSync(path.join(root, 'x')))

    const first = await connect(port)
    let release = (): void => undefined
    const held = new Promise<void>((resolve) => (release = resolve))
    const holding = runImportSession({
      socket: first,
      auth: AUTH,
      chunks: (async function* () {
        yield entry('./first', 'file', '1')
        await held // the import stays open until the test lets go
      })(),
      totalBytes: 10,
      force: false,
      warn: () => undefined,
    })
    holding.catch(() => undefined)
    await assert.rejects(send(port, [entry('./second', 'file', '2')]), /another import is in progress/)
    first.destroy()
    await assert.rejects(holding)
    release()
    const [code, why] = await finished
    assert.equal(code, 1)
    assert.match(why, /^import failed: the (client closed the connection after \d+ entries, before the end of the stream|connection broke: read ECONNRESET)$/)
    assert.ok(!fs.existsSync(path.join(root, 'second')))
  })

  it('gives up when no data comes for -t seconds (exit code 1)', async () => {
    const {finished} = await serve({timeoutS: 1})
    assert.deepEqual(await finished, [1, 'no data for 1 s: giving up'])
  })
})

describe('the unpacker', () => {
  it('writes the same tree whether the stream comes in one piece or byte by byte', async () => {
    const stream = Buffer.concat([entry('./d', 'dir', '', 0o750), entry('./d/f', 'file', 'hello world', 0o600), entry('./d/l', 'symlink', 'f'), entry('./z', 'file', ''), encodeTrailer(), Buffer.from(AUTH)])
    const trees: string[] = []
    for (const size of [stream.length, 1, 7]) {
      const root = newDir('unpack')
      const unpacker = new Unpacker(new EntryWriter(root))
      let completed = 0
      let rest = Buffer.alloc(0)
      for (let i = 0; i < stream.length && !unpacker.finished; i += size) {
        const fed = await unpacker.feed(stream.subarray(i, i + size))
        completed += fed.completed
        if (fed.finished) rest = Buffer.concat([fed.rest, stream.subarray(i + size)])
      }
      assert.equal(completed, 4, `chunks of ${size}`)
      assert.equal(rest.toString(), AUTH, 'the bytes after the trailer are handed back')
      trees.push(JSON.stringify([fs.readFileSync(path.join(root, 'd/f'), 'utf8'), fs.readlinkSync(path.join(root, 'd/l')), fs.statSync(path.join(root, 'z')).size]))
    }
    assert.deepEqual(new Set(trees).size, 1)
  })

  it('refuses entries it cannot place: a device, a name without NUL, a directory with content', async () => {
    const cases: Array<[Buffer, RegExp]> = [
      [Buffer.concat([encodeEntryStart({ino: 1, mode: 0o020644, uid: 0, gid: 0, nlink: 1, mtime: 0, size: 0}, './tty')]), /unsupported entry type 020000/],
      [Buffer.concat([Buffer.from(encodeEntryStart({ino: 1, mode: S_IFREG | 0o644, uid: 0, gid: 0, nlink: 1, mtime: 0, size: 0}, './ab').subarray(0, -1)), Buffer.from('X')]), /without its NUL/],
      [entry('./dir', 'dir', 'data'), /a directory entry with 4 bytes of content/],
    ]
    for (const [bytes, reason] of cases) {
      const unpacker = new Unpacker(new EntryWriter(newDir('unpack')))
      await assert.rejects(unpacker.feed(bytes), reason)
    }
  })
})
