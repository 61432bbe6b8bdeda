// Volumes: their storage (ext4 images or plain directories under `<dataDir>/volumes/`), their
// mounts, and how instances find them at their mount paths.
export {InstanceVolumes, type InstanceVolumesOptions} from './instance-volumes.js'
export {VolumeStorage, VOLUMES_DIR, type MountRequest, type VolumeBackend, type VolumeStorageOptions} from './volume-storage.js'
export {type VolumeMount, substituteVolumePaths, volumeCovering, volumeEnvironment, volumePathOf, volumeVariable} from './guest-paths.js'
export {mountsUnder, unmountAllUnder} from './mount-table.js'
export {measureUsage, UsageWatch} from './usage-watch.js'
