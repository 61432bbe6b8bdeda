// The embedded platform's public face for `ukc local start` and the tests. Light: the start-up
// check and the lock's error load little; the daemon itself (store, runtime, gateway, API) loads only
// when `runPlatform` is called. Its clients (the CLI, the tunnel) use src/local instead.
import fs from 'node:fs'
import path from 'node:path'

import type {PlatformOptions, RunningPlatform} from './daemon.js'

export type {PlatformOptions, RunningPlatform}
export {AlreadyRunning} from './daemon-lock.js'
export {InstanceAccessError, assertInstanceAccess, instanceAccessProblem} from './instance-access.js'
export {STATE_FILE, USER_NAME} from './store/store.js'

/** Runs the platform in this process (see daemon.ts). */
export async function runPlatform(options: PlatformOptions): Promise<RunningPlatform> {
  const daemon = await import('./daemon.js')
  return daemon.runPlatform(options)
}

/**
 * Unmounts what a platform in `dataDir` left mounted (its volumes, after kill -9), so that
 * `ukc local reset` deletes the volumes' files and not what is mounted over them.
 */
export async function unmountVolumes(dataDir: string): Promise<string[]> {
  const {unmountAllUnder} = await import('./volumes/mount-table.js')
  const {VOLUMES_DIR} = await import('./volumes/volume-storage.js')
  return unmountAllUnder(path.join(dataDir, VOLUMES_DIR))
}

/**
 * Deletes everything in a stopped platform's `dataDir` (`ukc local reset`): first what a daemon killed
 * with -9 left mounted is unmounted, then the files go, read-only trees too (an unprivileged platform
 * makes a read-only volume's files read-only by their mode bits).
 */
export async function wipeDataDir(dataDir: string): Promise<void> {
  await unmountVolumes(dataDir)
  const {removeTree} = await import('./store/remove-tree.js')
  for (const entry of await fs.promises.readdir(dataDir)) await removeTree(path.join(dataDir, entry))
}
