// The rules of volumes, each in one place: how a volume's storage phase moves, what `state` the API
// reports, when a volume may be attached, detached or deleted, where it may be mounted, and the
// quota. What the real cloud does and what we chose: docs/platform-core.md, "Volumes".
import {ErrorCode, type VolumeState} from '../../api/types.js'
import type {InstanceRecord, InstanceVolume, UserRecord, VolumePhase, VolumeRecord} from '../types.js'
import type {ApiContext} from './context.js'
import {ItemFailure, invalid} from './failures.js'
import {HARD, LIMITS} from './quotas.js'

// ---- the storage phase: a record is made `uninitialized` (durable before the storage is made), then
// the storage is made; a platform killed meanwhile makes it again at its next start.

export type PhaseEvent = 'made' | 'failed'

const PHASES: Record<VolumePhase, Partial<Record<PhaseEvent, VolumePhase>>> = {
  uninitialized: {made: 'available', failed: 'error'},
  available: {},
  error: {},
}

export function nextPhase(phase: VolumePhase, event: PhaseEvent): VolumePhase {
  const to = PHASES[phase][event]
  if (!to) throw new Error(`a volume that is ${phase} cannot be ${event}`)
  return to
}

/** The API's state: the phase, refined by the attachment (`idle`: its instance is stopped). */
export function volumeState(volume: VolumeRecord, attachedTo: InstanceRecord | undefined): VolumeState {
  if (volume.phase !== 'available') return volume.phase
  if (!attachedTo) return 'available'
  return attachedTo.state === 'stopped' ? 'idle' : 'mounted'
}

// ---- attach, detach, delete

/** One instance at a time (the real default access mode `rwo`), and only once its storage exists. */
export function checkAttachable(ctx: ApiContext, volume: VolumeRecord): void {
  const attachment = ctx.store.attachmentOf(volume.uuid)
  if (attachment) throw new ItemFailure(ErrorCode.Attached, `Volume '${volume.name}' is already attached to instance '${attachment.instance.name}'`)
  if (volume.phase !== 'available') throw new ItemFailure(ErrorCode.CannotBeUsed, `Volume '${volume.name}' cannot be attached: it is ${volume.phase}`)
}

/** Attach and detach change an instance only while it is stopped ("volume available, instance stopped"). */
export function checkStopped(instance: InstanceRecord, doing: 'attach' | 'detach'): void {
  if (instance.state === 'stopped') return
  throw new ItemFailure(ErrorCode.FailedWrongVMState, `Instance '${instance.name}' must be stopped to ${doing} a volume (it is ${instance.state})`)
}

/** Two volumes cannot be mounted at one path of an instance. */
export function checkMountPathFree(instance: {name: string; volumes: InstanceVolume[]}, at: string): void {
  if (instance.volumes.some((v) => v.at === at)) throw new ItemFailure(ErrorCode.Invalid, `Instance '${instance.name}' already has a volume at ${at}`)
}

export function checkDeletable(ctx: ApiContext, volume: VolumeRecord): void {
  const attachment = ctx.store.attachmentOf(volume.uuid)
  if (attachment) throw new ItemFailure(ErrorCode.Attached, `Volume '${volume.name}' is attached to instance '${attachment.instance.name}'; detach it first`)
}

// ---- requests: sizes, mount paths, quota

/** `size_mb` within the quota's limits (400 otherwise, like memory_mb). */
export function volumeSize(value: unknown): number {
  if (value === undefined || value === null) throw invalid("Value of 'size_mb' is required")
  if (typeof value !== 'number' || !Number.isInteger(value) || value < LIMITS.min_volume_mb || value > LIMITS.max_volume_mb) {
    throw invalid(`Value of 'size_mb' must be in the range ${LIMITS.min_volume_mb} to ${LIMITS.max_volume_mb}`)
  }
  return value
}

/** The longest mount path accepted (Linux's PATH_MAX). */
const MAX_PATH = 4096

/** A mount path as the OpenAPI allows it (`^(/[ a-zA-Z0-9._-]*)*$`), without `.`/`..`, normalised. */
export function mountPath(value: unknown, field = 'at'): string {
  if (value === undefined || value === null || value === '') throw invalid(`Value of '${field}' is required`)
  if (typeof value !== 'string' || value.length > MAX_PATH || !/^(\/[ a-zA-Z0-9._-]*)+$/.test(value)) {
    throw invalid(`Value of '${field}' must be an absolute path of letters, digits, spaces, '.', '_' and '-'`)
  }
  const parts = value.split('/').filter(Boolean)
  if (parts.some((part) => part === '.' || part === '..')) throw invalid(`Value of '${field}' must not contain '.' or '..'`)
  return `/${parts.join('/')}`
}

/** New volumes of these sizes fit the user's quota (count and total size), or a per-item 19. */
export function checkVolumeQuota(ctx: ApiContext, user: UserRecord, sizes: number[]): void {
  const existing = ctx.store.listVolumes(user.uuid)
  if (existing.length + sizes.length > HARD.volumes) throw new ItemFailure(ErrorCode.Quota, `Quota exhausted: at most ${HARD.volumes} volumes`)
  const total = existing.reduce((sum, v) => sum + v.size_mb, 0) + sizes.reduce((sum, s) => sum + s, 0)
  if (total > HARD.total_volume_mb) {
    throw new ItemFailure(ErrorCode.Quota, `Quota exhausted: volumes would take ${total} MiB of at most ${HARD.total_volume_mb} MiB`)
  }
}
