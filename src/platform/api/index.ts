// The REST API v1 of the embedded platform: same paths, envelopes and errors as Unikraft Cloud's.
export {ApiServer, type ApiServerOptions} from './server.js'
export type {ApiContext, InstanceMeterReader, InstanceRuntime, ResolvedImage, VolumeBacking} from './context.js'
export {InstanceOperations} from './instances.js'
export {VolumeOperations} from './volumes.js'
export {HARD, LIMITS} from './quotas.js'
