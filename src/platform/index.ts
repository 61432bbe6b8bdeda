// The embedded platform's public face: run it in-process (tests, `ukc local start --foreground`).
// Its clients (the CLI, the tunnel) use src/local instead.
export {DEFAULTS, runPlatform, type PlatformOptions, type RunningPlatform} from './daemon.js'
export {AlreadyRunning} from './daemon-lock.js'
export {STATE_FILE} from './store/index.js'
export {InstanceAccessError, assertInstanceAccess, instanceAccessProblem} from './instance-access.js'
