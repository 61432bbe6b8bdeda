// The local account's quota: live usage against fixed limits (GET /users/quotas), also the bounds
// that instance create validates memory and vCPUs against, and volume create sizes and counts.
import type {Quotas} from '../../api/types.js'
import type {UserRecord} from '../types.js'
import type {ApiContext} from './context.js'

export const LIMITS = {
  min_memory_mb: 16,
  max_memory_mb: 4096,
  min_vcpus: 1,
  max_vcpus: 8,
  min_volume_mb: 1,
  max_volume_mb: 1024,
  min_autoscale_size: 1,
  /** Autoscale is on for local accounts (1/1 would mean off): a group of up to 16 instances. */
  max_autoscale_size: 16,
} as const

export const HARD = {
  instances: 64,
  live_vcpus: 64,
  live_memory_mb: 16384,
  service_groups: 253,
  services: 253,
  /** The beta quota's volume count; 10 GiB in total (volumes are sparse: they take what is written). */
  volumes: 253,
  total_volume_mb: 10240,
} as const

export function quotasOf(ctx: ApiContext, user: UserRecord): Quotas & {status: 'success'} {
  const instances = ctx.store.listInstances(user.uuid)
  const live = instances.filter((i) => i.state !== 'stopped')
  const services = ctx.store.listServices(user.uuid)
  const volumes = ctx.store.listVolumes(user.uuid)
  return {
    status: 'success',
    uuid: user.uuid,
    used: {
      instances: instances.length,
      live_instances: live.length,
      live_vcpus: live.reduce((sum, i) => sum + i.vcpus, 0),
      live_memory_mb: live.reduce((sum, i) => sum + i.memory_mb, 0),
      service_groups: services.length,
      services: services.reduce((sum, s) => sum + s.services.length, 0),
      volumes: volumes.length,
      total_volume_mb: volumes.reduce((sum, v) => sum + v.size_mb, 0),
    },
    hard: {...HARD},
    limits: {...LIMITS},
  }
}
