// The machine-wide uid blocks: two platforms never share a uid — side by side, after a data dir is
// copied, or when a deleted data dir's block still has processes — and a block whose data dir is gone
// is reclaimed. Each test uses a registry of its own (the real one is /var/lib/ukc/uid-blocks).
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, describe, it} from 'node:test'

import {BLOCK_RECORD, claimUidBlock, isolateTenants, mapCovers, plannedUidBlock, recordedBlock, uidBlock} from '../../src/platform/isolation/index.js'
import {instanceIdentity} from '../../src/platform/runtime/index.js'

const temps: string[] = []
function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  temps.push(dir)
  return dir
}
after(() => {
  for (const dir of temps) fs.rmSync(dir, {recursive: true, force: true})
})

/** Blocks real platforms on this machine may use while these tests run (the registry hands out the lowest free ones). */
const HELD_ELSEWHERE = 64

/**
 * A registry and a place for data dirs. The uid space is the machine's: a block that a real platform
 * uses right now (its processes run under it) is busy for this registry too. So the first blocks are
 * held by a live data dir of their own, and the tests' claims start above them.
 */
function machine(): {registry: string; dataDir: (name: string) => string} {
  const root = tempDir('ukc-uids-')
  const registry = path.join(root, 'registry')
  const holder = path.join(root, 'holder')
  fs.mkdirSync(holder)
  fs.mkdirSync(registry)
  for (let number = 0; number < HELD_ELSEWHERE; number++) fs.writeFileSync(path.join(registry, String(number)), `${holder}\n`)
  return {
    registry,
    dataDir: (name) => {
      const dir = path.join(root, name)
      fs.mkdirSync(dir, {recursive: true})
      return dir
    },
  }
}

describe('uid blocks', () => {
  it('gives two data dirs side by side different blocks, and a data dir the same block every time', async () => {
    const {registry, dataDir} = machine()
    const a = await claimUidBlock(dataDir('a'), registry)
    const b = await claimUidBlock(dataDir('b'), registry)
    assert.notEqual(a.number, b.number)
    assert.ok(b.first > a.last || a.first > b.last, 'the uid ranges do not overlap')
    assert.deepEqual(await claimUidBlock(dataDir('a'), registry), a, 'a restart keeps its uids (its files are theirs)')
    assert.equal(recordedBlock(dataDir('a')), a.number, 'the data dir records its block')
    assert.equal(fs.readFileSync(path.join(registry, String(b.number)), 'utf8').trim(), dataDir('b'), 'the registry names the data dir')
  })

  it('never hands one block to claims that race', async () => {
    const {registry, dataDir} = machine()
    const blocks = await Promise.all(['a', 'b', 'c', 'd', 'e', 'f'].map((name) => claimUidBlock(dataDir(name), registry)))
    assert.equal(new Set(blocks.map((block) => block.number)).size, blocks.length)
  })

  it('reclaims the block of a deleted data dir, and of one re-created at the same path', async () => {
    const {registry, dataDir} = machine()
    const a = await claimUidBlock(dataDir('a'), registry)
    const b = await claimUidBlock(dataDir('b'), registry)
    fs.rmSync(dataDir('a'), {recursive: true})
    assert.equal(plannedUidBlock(dataDir('c'), registry).number, a.number, 'the plan names the block a claim would take')
    assert.equal(fs.existsSync(path.join(dataDir('c'), BLOCK_RECORD)), false, 'planning writes nothing')
    const c = await claimUidBlock(dataDir('c'), registry)
    assert.equal(c.number, a.number)
    assert.equal((await claimUidBlock(dataDir('b'), registry)).number, b.number, 'a live data dir keeps its block')
    fs.rmSync(dataDir('b'), {recursive: true}) // e.g. `ukc local reset`, then a new start in the same place
    assert.equal((await claimUidBlock(dataDir('b'), registry)).number, b.number)
  })

  it('gives a copied data dir a block of its own (its record names a block another data dir holds)', async () => {
    const {registry, dataDir} = machine()
    const original = await claimUidBlock(dataDir('original'), registry)
    fs.cpSync(path.join(dataDir('original'), BLOCK_RECORD), path.join(dataDir('copy'), BLOCK_RECORD))
    const copy = await claimUidBlock(dataDir('copy'), registry)
    assert.notEqual(copy.number, original.number)
    assert.equal(recordedBlock(dataDir('copy')), copy.number)
    assert.equal((await claimUidBlock(dataDir('original'), registry)).number, original.number)
  })

  it('keeps the block of a deleted data dir while a process still runs under one of its uids', {skip: process.getuid?.() !== 0 && 'running a process under another uid needs root'}, async () => {
    const {registry, dataDir} = machine()
    const gone = await claimUidBlock(dataDir('gone'), registry)
    // A leftover instance process of the deleted platform (it waits for its stdin to close).
    const leftover = spawn(process.execPath, ['-e', 'process.stdin.resume(); process.stdin.on("end", () => process.exit(0))'], {uid: gone.first + 3, gid: gone.first + 3, stdio: ['pipe', 'ignore', 'ignore']})
    const exited = new Promise((resolve) => leftover.once('exit', resolve))
    await new Promise((resolve) => leftover.once('spawn', resolve))
    try {
      fs.rmSync(dataDir('gone'), {recursive: true})
      const next = await claimUidBlock(dataDir('next'), registry)
      assert.notEqual(next.number, gone.number, 'its uids still own a process')
    } finally {
      leftover.stdin?.end()
      await exited
    }
    assert.equal((await claimUidBlock(dataDir('later'), registry)).number, gone.number, 'reclaimed once the process is gone')
  })

  it('falls back to nobody, said in one line, when no block can be had (as root)', {skip: process.getuid?.() !== 0 && 'the fallback is a root platform\u2019s'}, async () => {
    const {dataDir} = machine()
    const isolation = await isolateTenants({dataDir: dataDir('p'), users: 2, registry: '/dev/null/uid-blocks'})
    assert.equal(isolation.uids, undefined)
    assert.equal(isolation.firewall, undefined)
    assert.equal(isolation.limits.length, 1)
    assert.match(isolation.limits[0] as string, /^no uid block for per-user instance uids \(.*\), so every user's instances run as nobody: files, processes and private addresses are not isolated between users$/)
    assert.equal(instanceIdentity({name: 'alice', index: 0, uids: isolation.uids})?.user, 'nobody')
  })

  it('knows whether a user namespace maps a block', () => {
    const block = uidBlock(2)
    assert.equal(mapCovers('         0          0 4294967295\n', block), true, 'the initial namespace maps everything')
    assert.equal(mapCovers('         0     100000      65536\n', block), false, 'a typical rootless container maps 65536 ids')
    assert.equal(mapCovers(`0 0 1000\n${block.first} 5000000 ${block.last - block.first}\n`, block), false, 'one id short')
    assert.equal(mapCovers(`0 0 1000\n${block.first} 5000000 16\n`, block), true)
  })
})
