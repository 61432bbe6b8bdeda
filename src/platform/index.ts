// The embedded platform's public face for `ukc local start` and the tests. Light: the start-up
// check and the lock's error load little; the daemon itself (store, runtime, gateway, API) loads only
// when `runPlatform` is called. Its clients (the CLI, the tunnel) use src/local instead.
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
