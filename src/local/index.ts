// The client side of the embedded platform (metro `local`): where it keeps its data, the
// platform.json contract, starting and stopping its daemon, and its `.internal` names. Light: the CLI
// and the tunnel import this, never src/platform (which is the daemon itself).
export {INFO_FILE, type PlatformInfo, type PlatformUser, gatewayEndpoint, localDir, readPlatformInfo} from './info.js'
export {LOG_FILE, START_FAILURE, apiAnswers, ensurePlatform, stopPlatform, type EnsureOptions} from './control.js'
export {type InternalName, formatInternalNames, resolveInternal} from './internal-names.js'
export {type ProcessIdentity, isRunning, selfIdentity} from './liveness.js'
