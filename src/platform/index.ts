// The embedded platform's public face: run it in-process, or control the daemon from the CLI.
export {DEFAULTS, runPlatform, type PlatformOptions, type RunningPlatform} from './daemon.js'
export {AlreadyRunning} from './daemon-lock.js'
export {LOG_FILE, apiAnswers, ensurePlatform, stopPlatform, type EnsureOptions} from './control.js'
export {INFO_FILE, type PlatformInfo, type PlatformUser, gatewayEndpoint, isAlive, localDir, readPlatformInfo} from './info.js'
export {STATE_FILE} from './store/index.js'
export {InstanceAccessError, assertInstanceAccess, instanceAccessProblem} from './instance-access.js'
