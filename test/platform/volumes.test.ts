// Volume storage on real filesystems: ext4 images loop-mounted (as root, with e2fsprogs), plain
// directories with a usage watch, the mount table, and how instance paths map to volumes.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, before, describe, it} from 'node:test'

import '../setup.js'
import {findBinary} from '../../src/platform/runtime/host-binaries.js'
import {instanceIdentity} from '../../src/platform/runtime/index.js'
import {
  type VolumeMount,
  UsageWatch,
  VolumeStorage,
  measureUsage,
  mountsUnder,
  substituteVolumePaths,
  unmountAllUnder,
  volumeEnvironment,
  volumePathOf,
} from '../../src/platform/volumes/index.js'

const root = process.getuid?.() === 0
const ext4 = root && findBinary('mkfs.ext4') !== undefined && findBinary('mount') !== undefined
const runAs = instanceIdentity({name: 'alice', index: 0})
const MiB = 1024 * 1024

function writeError(file: string, bytes: number): string | undefined {
  try {
    fs.writeFileSync(file, Buffer.alloc(bytes, 1))
    return undefined
  } catch (error) {
    return (error as NodeJS.ErrnoException).code
  }
}

/** Resolves with the first violation message. */
function violations(): {seen: Promise<string>; report: (uuid: string, message: string) => void} {
  let report: (uuid: string, message: string) => void = () => {}
  const seen = new Promise<string>((resolve) => (report = (_uuid, message) => resolve(message)))
  return {seen, report: (uuid, message) => report(uuid, message)}
}

describe('volume storage: ext4 images', {skip: ext4 ? false : 'needs root, mkfs.ext4 and mount'}, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-volumes-'))
  let storage: VolumeStorage
  before(() => {
    storage = new VolumeStorage({dataDir: dir, log: () => {}})
  })
  after(async () => {
    await storage.close()
    fs.rmSync(dir, {recursive: true, force: true})
  })

  it('chooses ext4 as root and makes an empty filesystem of the volume’s size', async () => {
    assert.equal(storage.backend, 'ext4')
    await storage.create('v1', 2)
    assert.equal(fs.statSync(path.join(storage.root, 'v1', 'volume.ext4')).size, 2 * MiB)
    assert.deepEqual(mountsUnder(storage.root), []) // not mounted until an instance needs it
    const data = await storage.mount('v1', {sizeMb: 2, runAs, readonly: false})
    assert.equal(data, storage.dataOf('v1'))
    assert.equal(mountsUnder(storage.root)[0]?.fstype, 'ext4')
    assert.deepEqual(fs.readdirSync(data), []) // no lost+found: initdb takes it as a data dir
    const stat = fs.statSync(data)
    assert.deepEqual([stat.uid, stat.gid, stat.mode & 0o777], [runAs?.uid ?? 0, runAs?.gid ?? 0, 0o700])
  })

  it('fails a write past the size with ENOSPC, inside the filesystem', async () => {
    const data = storage.dataOf('v1')
    assert.equal(writeError(path.join(data, 'small'), MiB), undefined)
    assert.equal(writeError(path.join(data, 'big'), 2 * MiB), 'ENOSPC')
    fs.rmSync(path.join(data, 'big'), {force: true})
  })

  it('mounts read-only when asked (EROFS), read-write again the next time', async () => {
    const data = await storage.mount('v1', {sizeMb: 2, runAs, readonly: true})
    assert.equal(mountsUnder(data)[0]?.readonly, true)
    assert.equal(writeError(path.join(data, 'other'), 10), 'EROFS')
    assert.equal(fs.readFileSync(path.join(data, 'small')).length, MiB)
    await storage.mount('v1', {sizeMb: 2, runAs, readonly: false})
    assert.equal(writeError(path.join(data, 'other'), 10), undefined)
  })

  it('gives the files to another identity when its instance runs as someone else', async () => {
    const other = {uid: 4242, gid: 4242, user: 'other'}
    const data = await storage.mount('v1', {sizeMb: 2, runAs: other, readonly: true})
    assert.equal(fs.statSync(path.join(data, 'small')).uid, 4242)
    assert.equal(mountsUnder(data)[0]?.readonly, true)
  })

  it('unmounts on release and deletes on destroy', async () => {
    await storage.release('v1')
    assert.deepEqual(mountsUnder(storage.root), [])
    await storage.mount('v1', {sizeMb: 2, runAs, readonly: false})
    await storage.destroy('v1')
    assert.deepEqual(mountsUnder(storage.root), [])
    assert.equal(fs.existsSync(path.join(storage.root, 'v1')), false)
  })

  it('after a daemon killed with -9: unmounts what it left, keeps known volumes, drops unknown ones', async () => {
    await storage.create('kept', 1)
    await storage.create('stray', 1)
    await storage.mount('kept', {sizeMb: 1, runAs, readonly: true})
    await storage.mount('stray', {sizeMb: 1, runAs, readonly: false})
    // A new storage over the same dir is the next daemon: the mounts are still there.
    const next = new VolumeStorage({dataDir: dir, log: () => {}})
    await next.recover(new Set(['kept']))
    assert.deepEqual(mountsUnder(storage.root), [])
    assert.deepEqual(fs.readdirSync(storage.root), ['kept'])
    const data = await next.mount('kept', {sizeMb: 1, runAs, readonly: false})
    assert.equal(writeError(path.join(data, 'after'), 10), undefined)
    await next.close()
    assert.deepEqual(mountsUnder(storage.root), [])
  })

  it('unmounts everything below a data dir for `ukc local reset`', async () => {
    await storage.mount('kept', {sizeMb: 1, runAs, readonly: false})
    assert.equal(mountsUnder(dir).length, 1)
    assert.deepEqual(await unmountAllUnder(dir), [storage.dataOf('kept')])
    assert.deepEqual(mountsUnder(dir), [])
  })
})

describe('volume storage: plain directories', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-volumes-dir-'))
  const seen = violations()
  const storage = new VolumeStorage({dataDir: dir, backend: 'directory', log: () => {}, onViolation: seen.report, checkIntervalMs: 20})
  after(async () => {
    await storage.close()
    fs.rmSync(dir, {recursive: true, force: true})
  })

  it('stops an instance whose volume outgrows its size while mounted', async () => {
    await storage.create('d1', 1)
    const data = await storage.mount('d1', {sizeMb: 1, runAs, readonly: false})
    // Grows until a check sees it past its size and bigger than at the check before.
    let written = 0
    let message: string | undefined
    void seen.seen.then((m) => (message = m))
    while (message === undefined) {
      fs.appendFileSync(path.join(data, 'log'), Buffer.alloc(256 * 1024, 1))
      written += 256 * 1024
      await new Promise((resolve) => setImmediate(resolve))
      assert.ok(written < 512 * MiB, 'no violation after 512 MiB')
    }
    assert.match(message, /the volume holds [\d.]+ MiB, more than its 1 MiB, and grew since the last check/)
    await storage.release('d1')
  })

  it('mounts read-only with a read-only bind mount as root', {skip: root ? false : 'needs root'}, async () => {
    await storage.create('d2', 1)
    const data = await storage.mount('d2', {sizeMb: 1, runAs, readonly: false})
    fs.writeFileSync(path.join(data, 'f'), 'x')
    await storage.mount('d2', {sizeMb: 1, runAs, readonly: true})
    assert.equal(writeError(path.join(data, 'g'), 1), 'EROFS')
    await storage.mount('d2', {sizeMb: 1, runAs, readonly: false})
    assert.equal(writeError(path.join(data, 'g'), 1), undefined)
    await storage.destroy('d2')
    assert.deepEqual(mountsUnder(dir), [])
  })
})

describe('usage watch', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-usage-'))
  after(() => fs.rmSync(dir, {recursive: true, force: true}))

  /** A watch whose checks can be awaited one by one. */
  function watching(options: {sizeMb: number; frozen: boolean}) {
    const found: string[] = []
    let next: (() => void) | undefined
    const watch = new UsageWatch({dir, ...options, intervalMs: 5, onViolation: (m) => found.push(m), onMeasured: () => next?.()})
    const check = () => new Promise<void>((resolve) => (next = resolve))
    return {watch, found, check}
  }

  it('counts allocated blocks, not apparent sizes', async () => {
    const sparse = path.join(dir, 'sparse')
    fs.writeFileSync(sparse, '')
    fs.truncateSync(sparse, 64 * MiB)
    assert.ok((await measureUsage(dir)).bytes < MiB)
    fs.rmSync(sparse)
  })

  it('reports a volume over its size only while it grows (deleting files is allowed)', async () => {
    fs.writeFileSync(path.join(dir, 'a'), Buffer.alloc(2 * MiB, 1))
    const {watch, found, check} = watching({sizeMb: 1, frozen: false})
    await check()
    await check()
    assert.deepEqual(found, []) // over, but not growing
    fs.rmSync(path.join(dir, 'a'))
    fs.writeFileSync(path.join(dir, 'b'), Buffer.alloc(MiB / 2, 1))
    await check()
    assert.deepEqual(found, [])
    fs.writeFileSync(path.join(dir, 'c'), Buffer.alloc(2 * MiB, 1))
    await check()
    watch.close()
    assert.equal(found.length, 1)
    fs.rmSync(path.join(dir, 'b'))
    fs.rmSync(path.join(dir, 'c'))
  })

  it('reports any change to a volume mounted read-only by mode bits', async () => {
    fs.writeFileSync(path.join(dir, 'kept'), 'same')
    const {watch, found, check} = watching({sizeMb: 1, frozen: true})
    await check()
    await check()
    assert.deepEqual(found, [])
    fs.writeFileSync(path.join(dir, 'kept'), 'changed!')
    await check()
    watch.close()
    assert.deepEqual(found, ['the volume is mounted read-only but its files changed'])
  })
})

describe('instance paths on volumes', () => {
  const mounts: VolumeMount[] = [
    {name: 'pg', at: '/var/lib/postgresql/data', readonly: false, hostPath: '/v/pg'},
    {name: 'lib', at: '/var/lib', readonly: true, hostPath: '/v/lib'},
  ]

  it('maps a path through the deepest volume that covers it', () => {
    assert.equal(volumePathOf(mounts, '/var/lib/postgresql/data'), '/v/pg')
    assert.equal(volumePathOf(mounts, '/var/lib/postgresql/data/pgdata'), '/v/pg/pgdata')
    assert.equal(volumePathOf(mounts, '/var/lib/redis'), '/v/lib/redis')
    assert.equal(volumePathOf(mounts, '/var/library'), undefined)
    assert.equal(volumePathOf([{name: 'all', at: '/', readonly: false, hostPath: '/v/all'}], '/data/x'), '/v/all/data/x')
  })

  it('names one variable per mount and substitutes ${VOLUME:/path} in commands', () => {
    assert.deepEqual(volumeEnvironment(mounts), {UKC_VOLUME_VAR_LIB_POSTGRESQL_DATA: '/v/pg', UKC_VOLUME_VAR_LIB: '/v/lib'})
    assert.deepEqual(volumeEnvironment([{name: 'r', at: '/', readonly: false, hostPath: '/r'}]), {UKC_VOLUME_ROOT: '/r'})
    const resolve = (guest: string) => volumePathOf(mounts, guest) ?? `/own${guest}`
    assert.equal(substituteVolumePaths('--dir=${VOLUME:/var/lib/x/}', resolve), '--dir=/v/lib/x')
    assert.equal(substituteVolumePaths('${VOLUME:/tmp}:${PORT}', resolve), '/own/tmp:${PORT}')
    assert.throws(() => substituteVolumePaths('${VOLUME:/var/lib/../../etc}', resolve), /may not contain \. or \.\./)
  })
})
