// Between the volumes' storage and the instances that use them: mounts an instance's volumes
// before each of its boots (the runtime asks), and stops an instance whose directory volume broke
// its rules (over its size, or written while read-only without root).
import type {RunAs} from '../runtime/identity.js'
import type {Store} from '../store/index.js'
import type {InstanceRecord, Logger} from '../types.js'
import type {VolumeMount} from './guest-paths.js'
import type {VolumeStorage} from './volume-storage.js'

export interface InstanceVolumesOptions {
  store: Store
  storage: VolumeStorage
  log: Logger
  /** Stops an instance as the platform (stop_reason 7) and notes why in its console log. */
  stopInstance(uuid: string, why: string): Promise<void>
}

export class InstanceVolumes {
  constructor(private readonly options: InstanceVolumesOptions) {}

  /** The instance's volumes, mounted for `runAs`; rejects naming the volume that cannot be. */
  mount(record: InstanceRecord, runAs: RunAs | undefined): Promise<VolumeMount[]> {
    return Promise.all(
      record.volumes.map(async (attached) => {
        const volume = this.options.store.volume(attached.uuid)
        const problem = !volume ? 'it no longer exists' : volume.phase !== 'available' ? `it is ${volume.phase}${volume.error ? ` (${volume.error})` : ''}` : undefined
        if (!volume || problem) throw new Error(`volume ${attached.name} cannot be mounted at ${attached.at}: ${problem}`)
        try {
          const hostPath = await this.options.storage.mount(volume.uuid, {sizeMb: volume.size_mb, runAs, readonly: attached.readonly})
          return {name: volume.name, at: attached.at, readonly: attached.readonly, hostPath, sizeMb: volume.size_mb}
        } catch (error) {
          throw new Error(`volume ${attached.name} cannot be mounted at ${attached.at}: ${(error as Error).message}`)
        }
      }),
    )
  }

  /** VolumeStorage's onViolation: the instance using the volume is stopped, saying why. */
  violation(volumeUuid: string, message: string): void {
    const {store, log} = this.options
    const attachment = store.attachmentOf(volumeUuid)
    if (!attachment || attachment.instance.state === 'stopped') return
    const why = `volume ${attachment.mount.name} at ${attachment.mount.at}: ${message}; the instance is stopped`
    log(`instance ${attachment.instance.name} (${attachment.instance.uuid}): ${why}`)
    this.options.stopInstance(attachment.instance.uuid, why).catch((error: Error) => log(`stopping ${attachment.instance.name} failed: ${error.message}`))
  }
}
