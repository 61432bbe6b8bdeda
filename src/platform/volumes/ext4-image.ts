// A volume as an ext4 filesystem image of exactly its size, loop-mounted (e2fsprogs + util-linux):
// the kernel enforces the size (a write past it fails with ENOSPC inside the instance) and a
// read-only mount refuses every write (EROFS). Needs root.
import {execFile} from 'node:child_process'
import fs from 'node:fs'

import {findBinary} from '../runtime/host-binaries.js'
import {mountAt, runMountTool} from './mount-table.js'

/** The tools this backend runs; undefined when one is missing (then volumes are plain directories). */
export function ext4Tools(): {mkfs: string} | undefined {
  const mkfs = findBinary('mkfs.ext4')
  return mkfs && findBinary('mount') && findBinary('umount') ? {mkfs} : undefined
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(command, args, {timeout: 120_000}, (error, _stdout, stderr) => {
      if (error) reject(new Error(`${command} failed: ${String(stderr).trim().split('\n').pop() || error.message}`))
      else resolve()
    })
  })
}

/** Below this size a journal (at least 1 MiB, 4 MiB from 64 MiB on) would take too much of the volume. */
export const JOURNAL_FROM_MB = 64

/**
 * A sparse file of `sizeMb` MiB formatted as ext4: no blocks reserved for root (the instance gets
 * all of it), one inode per 16 KiB (mkfs's default for small filesystems, one per 4 KiB, spends 6%
 * of them on inode tables), inode tables initialised lazily (1 GiB formats in ~0.1 s), a journal
 * only from JOURNAL_FROM_MB. What is left for files: ~97% of a 2 MiB volume, ~90% of 64 MiB, ~94%
 * of 512 MiB and more.
 */
export async function formatImage(file: string, sizeMb: number, mkfs: string): Promise<void> {
  const handle = await fs.promises.open(file, 'w', 0o600)
  try {
    await handle.truncate(sizeMb * 1024 * 1024)
  } finally {
    await handle.close()
  }
  const journal = sizeMb >= JOURNAL_FROM_MB ? [] : ['-O', '^has_journal']
  await run(mkfs, ['-q', '-F', '-m', '0', '-i', '16384', ...journal, '-E', 'lazy_itable_init=1,nodiscard', file])
}

/** Loop-mounts the image at `target` (no device files, no setuid programs honoured). */
export async function mountImage(file: string, target: string, readonly: boolean): Promise<void> {
  await runMountTool('mount', ['-t', 'ext4', '-o', `loop,nosuid,nodev${readonly ? ',ro' : ''}`, file, target])
}

/** Switches a mounted volume between read-only and read-write (nobody may be using it). */
export async function remount(target: string, readonly: boolean): Promise<void> {
  if (mountAt(target)?.readonly === readonly) return
  await runMountTool('mount', ['-o', `remount,${readonly ? 'ro' : 'rw'}`, target])
}
