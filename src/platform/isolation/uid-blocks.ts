// Machine-wide uid blocks for platforms that run as root. Each platform (data dir) gets a block of
// UIDS_PER_BLOCK uids of its own — the user with index i runs as uid and gid `first + i` — so that no
// two platforms on one machine share a uid: two data dirs side by side, a copied data dir, or a new
// data dir after an old one was deleted while processes of its uids still run.
//
// The registry is a directory (/var/lib/ukc/uid-blocks, persistent: files of a block outlive a
// reboot) with one file per claimed block, `<number>`, naming its data dir; the data dir records its
// block in `uid-block`. Claims happen under the registry's lock and create the entry with O_EXCL.
// A block is reclaimed only when its data dir is gone (the path no longer exists, or its record names
// another block) and no process runs under one of its uids. No system accounts are needed: the
// uids are plain numbers, chosen outside /etc/passwd and /etc/group.
import fs from 'node:fs'
import path from 'node:path'
import {setTimeout as delay} from 'node:timers/promises'

import {isRunning, selfIdentity} from '../../local/liveness.js'
import {writeFileDurablySync} from '../store/durable-file.js'
import {MAX_USERS} from '../store/store.js'

export const UID_REGISTRY = '/var/lib/ukc/uid-blocks'
/** Above what systemd hands out (dynamic users, nspawn's 0x80000–0x6FFEFFFF), below 2^31 (int32 uids). */
export const FIRST_BLOCK_UID = 0x7000_0000
/** One uid per user index. */
export const UIDS_PER_BLOCK = MAX_USERS
const BLOCK_COUNT = (0x8000_0000 - FIRST_BLOCK_UID) / UIDS_PER_BLOCK
/** The data dir's record of its block. */
export const BLOCK_RECORD = 'uid-block'
const LOCK = '.lock'
const LOCK_WAIT_MS = 10_000

export interface UidBlock {
  number: number
  /** uid (and gid) of user index 0. */
  first: number
  /** uid (and gid) of the last user index. */
  last: number
}

export function uidBlock(number: number): UidBlock {
  const first = FIRST_BLOCK_UID + number * UIDS_PER_BLOCK
  return {number, first, last: first + UIDS_PER_BLOCK - 1}
}

/** The block `dataDir` records, if any. */
export function recordedBlock(dataDir: string): number | undefined {
  try {
    const {block} = JSON.parse(fs.readFileSync(path.join(dataDir, BLOCK_RECORD), 'utf8')) as {block?: unknown}
    return Number.isInteger(block) && (block as number) >= 0 && (block as number) < BLOCK_COUNT ? (block as number) : undefined
  } catch {
    return undefined
  }
}

function recordBlock(dataDir: string, block: UidBlock): void {
  writeFileDurablySync(path.join(dataDir, BLOCK_RECORD), `${JSON.stringify({block: block.number, uids: `${block.first}-${block.last}`})}\n`, 0o600)
}

/** Claimed blocks: number → data dir. */
function readEntries(registry: string): Map<number, string> {
  const entries = new Map<number, string>()
  let names: string[]
  try {
    names = fs.readdirSync(registry)
  } catch {
    return entries
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue
    try {
      entries.set(Number(name), fs.readFileSync(path.join(registry, name), 'utf8').trim())
    } catch {
      // removed meanwhile
    }
  }
  return entries
}

/** Blocks under which some process runs (any of its real, effective, saved or fs uids). */
function busyBlocks(): Set<number> {
  const busy = new Set<number>()
  let pids: string[]
  try {
    pids = fs.readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))
  } catch {
    return busy
  }
  for (const pid of pids) {
    let status: string
    try {
      status = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
    } catch {
      continue // gone meanwhile
    }
    for (const uid of /^Uid:\s+(.*)$/m.exec(status)?.[1]?.split(/\s+/).map(Number) ?? []) {
      if (uid >= FIRST_BLOCK_UID) busy.add(Math.floor((uid - FIRST_BLOCK_UID) / UIDS_PER_BLOCK))
    }
  }
  return busy
}

/** Blocks that overlap an account or group of this machine. */
function accountBlocks(): Set<number> {
  const taken = new Set<number>()
  for (const file of ['/etc/passwd', '/etc/group']) {
    let text = ''
    try {
      text = fs.readFileSync(file, 'utf8')
    } catch {
      continue
    }
    for (const line of text.split('\n')) {
      const id = Number(line.split(':')[2])
      if (id >= FIRST_BLOCK_UID && id < 0x8000_0000) taken.add(Math.floor((id - FIRST_BLOCK_UID) / UIDS_PER_BLOCK))
    }
  }
  return taken
}

/** The claim's plan: the block for `dataDir` and the stale entries to remove first. */
interface Choice {
  number: number
  /** The entry must be written: it is missing or new (a stale one is in `reclaim`). */
  write: boolean
  reclaim: number[]
}

function choose(dataDir: string, entries: Map<number, string>): Choice {
  let busy: Set<number> | undefined
  const isBusy = (number: number): boolean => (busy ??= busyBlocks()).has(number)
  const stale = (number: number, owner: string): boolean =>
    !isBusy(number) && (!fs.existsSync(owner) || (recordedBlock(owner) ?? number) !== number)
  const recorded = recordedBlock(dataDir)
  if (recorded !== undefined) {
    const owner = entries.get(recorded)
    if (owner === dataDir) return {number: recorded, write: false, reclaim: []}
    if (owner === undefined) return {number: recorded, write: true, reclaim: []}
    if (stale(recorded, owner)) return {number: recorded, write: true, reclaim: [recorded]}
    // Another live data dir holds it (this one is a copy): a new block; the runtime gives each
    // instance's files to its new uid when it boots.
  }
  const reclaim = [...entries].filter(([number, owner]) => owner === dataDir || stale(number, owner)).map(([number]) => number)
  const free = (number: number): boolean => !entries.has(number) || reclaim.includes(number)
  const accounts = accountBlocks()
  for (let number = 0; number < BLOCK_COUNT; number++) {
    if (free(number) && !accounts.has(number) && !isBusy(number)) return {number, write: true, reclaim}
  }
  throw new Error('every uid block of this machine is taken')
}

/**
 * The block `dataDir` has, or would get if it claimed one now (nothing is written): what the start-up
 * check names before the daemon claims it.
 */
export function plannedUidBlock(dataDir: string, registry = UID_REGISTRY): UidBlock {
  return uidBlock(choose(path.resolve(dataDir), readEntries(registry)).number)
}

/** Claims (or confirms) the block of `dataDir` and records it there. Throws when it cannot. */
export async function claimUidBlock(dataDir: string, registry = UID_REGISTRY): Promise<UidBlock> {
  const dir = path.resolve(dataDir)
  fs.mkdirSync(path.dirname(registry), {recursive: true, mode: 0o755})
  fs.mkdirSync(registry, {recursive: true, mode: 0o700})
  const unlock = await lockRegistry(registry)
  try {
    const choice = choose(dir, readEntries(registry))
    for (const number of choice.reclaim) fs.rmSync(path.join(registry, String(number)), {force: true})
    const block = uidBlock(choice.number)
    if (choice.write) {
      // The data dir first: an entry whose data dir does not name it would look stale to others.
      recordBlock(dir, block)
      fs.writeFileSync(path.join(registry, String(block.number)), `${dir}\n`, {flag: 'wx', mode: 0o600})
    }
    return block
  } finally {
    unlock()
  }
}

/** Gives the block of `dataDir` back (its data dir is about to go, e.g. a test's). */
export async function releaseUidBlock(dataDir: string, registry = UID_REGISTRY): Promise<void> {
  const dir = path.resolve(dataDir)
  const number = recordedBlock(dir)
  if (number === undefined || !fs.existsSync(registry)) return
  const unlock = await lockRegistry(registry)
  try {
    if (readEntries(registry).get(number) === dir) fs.rmSync(path.join(registry, String(number)), {force: true})
    fs.rmSync(path.join(dir, BLOCK_RECORD), {force: true})
  } finally {
    unlock()
  }
}

/** Whether a user namespace map (/proc/self/uid_map's text: `inside outside count` lines) covers the block. */
export function mapCovers(map: string, block: UidBlock): boolean {
  return map
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number))
    .some(([inside = 0, , count = 0]) => inside <= block.first && block.last < inside + count)
}

/** Why this process cannot give the block's uids and gids to processes (a user namespace's map), or undefined. */
export function unusableReason(block: UidBlock): string | undefined {
  for (const map of ['uid_map', 'gid_map']) {
    let text: string
    try {
      text = fs.readFileSync(`/proc/self/${map}`, 'utf8')
    } catch {
      continue // no user namespaces here
    }
    if (!mapCovers(text, block)) return `ids ${block.first}-${block.last} are not mapped in this user namespace (/proc/self/${map})`
  }
  return undefined
}

/** The registry's lock (`.lock`, pid and start time); a lock whose owner is gone is taken over. */
async function lockRegistry(registry: string): Promise<() => void> {
  const file = path.join(registry, LOCK)
  const self = selfIdentity()
  const content = `${self.pid} ${self.start ?? ''}\n`
  const deadline = Date.now() + LOCK_WAIT_MS
  while (true) {
    try {
      fs.writeFileSync(file, content, {flag: 'wx', mode: 0o600})
      return () => {
        if (fs.readFileSync(file, 'utf8') === content) fs.rmSync(file, {force: true})
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    let owner = ''
    try {
      owner = fs.readFileSync(file, 'utf8')
    } catch {
      continue // released meanwhile
    }
    const [pid, start] = owner.trim().split(/\s+/)
    if (!isRunning({pid: Number(pid), start: start || undefined})) fs.rmSync(file, {force: true})
    else if (Date.now() > deadline) throw new Error(`the uid registry ${registry} stays locked by pid ${pid}`)
    else await delay(5)
  }
}
