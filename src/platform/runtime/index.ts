// The runtime: instances as real child processes (one supervisor each), the image catalog, console
// logs, restart policy, who instances run as.
export {Runtime, BOOT_TIMEOUT_MS, STOP_GRACE_MS, type RuntimeOptions, type RuntimeTimings, type StopOptions} from './runtime.js'
export {ImageCatalog, USER_IMAGES_FILE, type ResolvedImage} from './catalog.js'
export {CONSOLE_LOG_BYTES, type LogWindow} from './console-log.js'
export {StopReason} from './stop-reason.js'
export {RESTART_BACKOFF_MS, HEALTHY_AFTER_MS} from './restart-policy.js'
export {backendPort, endpointPort, LOW_PORT_SHIFT} from './ports.js'
export {instanceIdentity, type RunAs} from './identity.js'
export {PROGRAMS_DIR} from './builtin-programs.js'
export {BUILTIN_PROGRAMS, writeProgramBundles, type ProgramName} from './program-bundle.js'
export {resolveInternal} from '../network/hosts-file.js'
export {killStaleProcess} from './stale-process.js'
