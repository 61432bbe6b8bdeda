// The figures volimport reports (free, total, the longest name): the filesystem's own with an ext4
// volume, which is the volume; for a directory volume (no filesystem of its size) the volume's size
// less what it holds, measured the way the platform's size check measures it.
import fs from 'node:fs'

import {MAX_NAME_SIZE, type VolumeSpace} from '../../../volimport/protocol.js'
import {measureUsage} from '../../volumes/usage-watch.js'

export async function volumeSpace(root: string, volumeBytes?: number): Promise<VolumeSpace> {
  const stats = await fs.promises.statfs(root)
  const fsTotal = stats.blocks * stats.bsize
  const fsFree = stats.bavail * stats.bsize
  if (!volumeBytes) return {free: fsFree, total: fsTotal, maxNameSize: MAX_NAME_SIZE}
  const total = Math.min(volumeBytes, fsTotal)
  const used = (await measureUsage(root)).bytes
  return {free: Math.max(0, Math.min(fsFree, total - used)), total, maxNameSize: MAX_NAME_SIZE}
}
