// The volume endpoints — POST/GET/DELETE /volumes, PUT /volumes/attach, PUT /volumes/detach — and
// what instances do to volumes: an instance create attaches existing ones and makes new ones
// (volume-requests.ts reads those), a deleted instance takes its non-persistent volumes with it.
// The rules themselves live in volume-rules.ts.
import crypto from 'node:crypto'

import {ErrorCode} from '../../api/types.js'
import type {InstanceRecord, InstanceVolume, UserRecord, VolumeRecord} from '../types.js'
import type {ApiContext} from './context.js'
import {type EnvelopeBody, eachItem, envelope} from './envelope.js'
import {ItemFailure, alreadyExists, invalid} from './failures.js'
import {bool, isObject, onlyKnown} from './fields.js'
import {randomSuffix} from './names.js'
import {presentVolume} from './present.js'
import {type RefEntry, lookup, refEntries} from './refs.js'
import {type VolumeDraft, type VolumeRequest, readVolumeDrafts} from './volume-requests.js'
import {type PhaseEvent, checkAttachable, checkDeletable, checkMountPathFree, checkStopped, checkVolumeQuota, mountPath, nextPhase} from './volume-rules.js'

const KEY = 'volumes'

/** `{uuid}` or `{name}` of an instance inside an item (`attach_to`, `from`); 400 when malformed. */
function instanceRef(value: unknown, field: string): RefEntry {
  if (!isObject(value)) throw invalid(`Value of '${field}' must be an object with the uuid or the name of an instance`)
  onlyKnown(value, ['uuid', 'name'], `${field}.`)
  return {body: value, uuid: typeof value.uuid === 'string' ? value.uuid : undefined, name: typeof value.name === 'string' ? value.name : undefined}
}

export class VolumeOperations {
  constructor(private readonly ctx: ApiContext) {}

  // ---- POST /volumes

  async create(user: UserRecord, body: unknown): Promise<EnvelopeBody> {
    const drafts = readVolumeDrafts(body)
    const items = await eachItem(drafts, (d) => ({name: d.name}), async (draft) => {
      checkVolumeQuota(this.ctx, user, [draft.size_mb])
      const record = this.newRecord(user, draft, new Set())
      this.ctx.store.setVolume(record)
      await this.ctx.store.flush()
      await this.initialize([record])
      if (record.phase === 'error') {
        // Nothing half-made stays behind a failed create.
        await this.forget(record)
        throw new ItemFailure(ErrorCode.FailedOperation, `Could not make the storage of volume '${record.name}': ${record.error}`)
      }
      return presentVolume(this.ctx, record)
    })
    return envelope(KEY, items)
  }

  // ---- GET /volumes

  async get(user: UserRecord, body: unknown, query: URLSearchParams): Promise<EnvelopeBody> {
    const entries = refEntries(body, query)
    if (!entries) return envelope(KEY, this.ctx.store.listVolumes(user.uuid).map((v) => presentVolume(this.ctx, v)))
    return envelope(KEY, await eachItem(entries, (e) => e, async (e) => presentVolume(this.ctx, this.find(user, e))))
  }

  // ---- DELETE /volumes

  async delete(user: UserRecord, body: unknown, query: URLSearchParams): Promise<EnvelopeBody> {
    const entries = this.required(body, query)
    const items = await eachItem(entries, (e) => e, async (e) => {
      const volume = this.find(user, e)
      checkDeletable(this.ctx, volume)
      if (volume.phase === 'uninitialized') throw new ItemFailure(ErrorCode.CannotBeUsed, `Volume '${volume.name}' is being created; delete it once it is available`)
      await this.forget(volume)
      return {status: 'success', uuid: volume.uuid, name: volume.name}
    })
    return envelope(KEY, items)
  }

  // ---- PUT /volumes/attach, PUT /volumes/detach

  async attach(user: UserRecord, body: unknown, query: URLSearchParams): Promise<EnvelopeBody> {
    const entries = this.required(body, query)
    const items = await eachItem(entries, (e) => e, async (e) => {
      onlyKnown(e.body, ['uuid', 'name', 'attach_to', 'at', 'readonly'])
      if (e.body.attach_to === undefined) throw invalid("Value of 'attach_to' is required")
      const target = instanceRef(e.body.attach_to, 'attach_to')
      const at = mountPath(e.body.at)
      const readonly = bool(e.body, 'readonly', false)
      const volume = this.find(user, e)
      const instance = this.findInstance(user, target)
      checkAttachable(this.ctx, volume)
      checkStopped(instance, 'attach')
      checkMountPathFree(instance, at)
      this.ctx.store.patchInstance(instance.uuid, {volumes: [...instance.volumes, {uuid: volume.uuid, name: volume.name, at, readonly}]})
      await this.ctx.store.flush()
      return {status: 'success', uuid: volume.uuid, name: volume.name}
    })
    return envelope(KEY, items)
  }

  async detach(user: UserRecord, body: unknown, query: URLSearchParams): Promise<EnvelopeBody> {
    const entries = this.required(body, query)
    const items = await eachItem(entries, (e) => e, async (e) => {
      onlyKnown(e.body, ['uuid', 'name', 'from'])
      const from = e.body.from === undefined || e.body.from === null ? undefined : this.findInstance(user, instanceRef(e.body.from, 'from'))
      const volume = this.find(user, e)
      const attachment = this.ctx.store.attachmentOf(volume.uuid)
      if (!attachment) throw new ItemFailure(ErrorCode.NotAttached, `Volume '${volume.name}' is not attached to any instance`)
      const instance = attachment.instance
      if (from && from.uuid !== instance.uuid) throw new ItemFailure(ErrorCode.NotAttached, `Volume '${volume.name}' is not attached to instance '${from.name}'`)
      checkStopped(instance, 'detach')
      this.ctx.store.patchInstance(instance.uuid, {volumes: instance.volumes.filter((v) => v.uuid !== volume.uuid)})
      // Detached, it no longer goes with the instance it was made with (§2.4).
      volume.persistent = true
      await this.ctx.store.flush()
      await this.release(volume)
      return {status: 'success', uuid: volume.uuid, name: volume.name}
    })
    return envelope(KEY, items)
  }

  // ---- instances

  /**
   * The volumes of new instances: existing ones checked, new ones as records (`vol-xxxxx`, not
   * persistent, one per instance). Synchronous and changes nothing: the caller stores the records.
   */
  planForInstances(user: UserRecord, instances: Array<{name: string}>, requests: VolumeRequest[]): {mounts: InstanceVolume[][]; created: VolumeRecord[]} {
    const created: VolumeRecord[] = []
    const fresh = requests.filter((r) => 'size_mb' in r)
    if (fresh.length > 0) checkVolumeQuota(this.ctx, user, instances.flatMap(() => fresh.map((r) => (r as {size_mb: number}).size_mb)))
    const taken = new Set<string>()
    const mounts = instances.map((instance) => {
      const mine: InstanceVolume[] = []
      for (const request of requests) {
        let volume: VolumeRecord
        if ('ref' in request) {
          volume = this.find(user, request.ref)
          if (taken.has(volume.uuid)) throw new ItemFailure(ErrorCode.Invalid, `Volume '${volume.name}' is given twice`)
          checkAttachable(this.ctx, volume)
        } else {
          volume = {...this.newRecord(user, {size_mb: request.size_mb}, taken), persistent: false}
          created.push(volume)
        }
        taken.add(volume.uuid).add(volume.name)
        checkMountPathFree({name: instance.name, volumes: mine}, request.at)
        mine.push({uuid: volume.uuid, name: volume.name, at: request.at, readonly: request.readonly})
      }
      return mine
    })
    return {mounts, created}
  }

  /**
   * An instance is being deleted (its record already removed, in memory): its non-persistent
   * volumes go too. Returns the storage work to run once that is durable.
   */
  dropWithInstance(record: InstanceRecord): () => Promise<void> {
    const gone = new Set<string>()
    for (const mount of record.volumes) {
      const volume = this.ctx.store.volume(mount.uuid)
      if (!volume || volume.persistent) continue
      this.ctx.store.removeVolume(volume.uuid)
      gone.add(volume.uuid)
    }
    return async () => {
      for (const mount of record.volumes) {
        const volume = {uuid: mount.uuid, name: mount.name}
        await (gone.has(mount.uuid) ? this.destroy(volume) : this.release(volume))
      }
    }
  }

  /** Makes the storage of `uninitialized` volumes (new ones, or those a killed daemon left). */
  async initialize(records: VolumeRecord[]): Promise<void> {
    if (records.length === 0) return
    await Promise.all(
      records.map(async (record) => {
        let event: PhaseEvent = 'made'
        try {
          await this.ctx.volumes.create(record.uuid, record.size_mb)
        } catch (error) {
          event = 'failed'
          record.error = (error as Error).message
          this.ctx.log(`volume ${record.name} (${record.uuid}): ${record.error}`)
        }
        record.phase = nextPhase(record.phase, event)
      }),
    )
    await this.ctx.store.flush()
  }

  /** After a platform start, before instances are brought back. */
  restore(): Promise<void> {
    return this.initialize(this.ctx.store.listVolumes().filter((v) => v.phase === 'uninitialized'))
  }

  // ----

  /** A new persistent record; `taken`: names planned but not stored yet. */
  private newRecord(user: UserRecord, draft: VolumeDraft, taken: Set<string>): VolumeRecord {
    if (draft.name && this.ctx.store.volumeByName(user.uuid, draft.name)) throw alreadyExists(`Volume with name '${draft.name}' already exists`)
    let name = draft.name
    // Unnamed volumes are `vol-X`, X five random alphanumerics (the OpenAPI's form).
    for (let tries = 0; !name; tries++) {
      const candidate = `vol-${randomSuffix(5)}`
      if (!taken.has(candidate) && !this.ctx.store.volumeByName(user.uuid, candidate)) name = candidate
      else if (tries > 50) throw new ItemFailure(ErrorCode.NoFree, 'Could not generate a free volume name')
    }
    return {uuid: crypto.randomUUID(), name, user: user.uuid, size_mb: draft.size_mb, created_at: new Date().toISOString(), persistent: true, phase: 'uninitialized'}
  }

  /** Removes the record durably, then its storage (a crash between: recovered at the next start). */
  private async forget(volume: VolumeRecord): Promise<void> {
    this.ctx.store.removeVolume(volume.uuid)
    await this.ctx.store.flush()
    await this.destroy(volume)
  }

  private async destroy(volume: {uuid: string; name: string}): Promise<void> {
    await this.ctx.volumes.destroy(volume.uuid).catch((error: Error) => this.ctx.log(`volume ${volume.name} (${volume.uuid}): deleting its storage failed: ${error.message}`))
  }

  private async release(volume: {uuid: string; name: string}): Promise<void> {
    await this.ctx.volumes.release(volume.uuid).catch((error: Error) => this.ctx.log(`volume ${volume.name} (${volume.uuid}): unmounting failed: ${error.message}`))
  }

  private find(user: UserRecord, entry: RefEntry): VolumeRecord {
    return lookup(entry, 'volume', (uuid) => this.ctx.store.volume(uuid), (name) => this.ctx.store.volumeByName(user.uuid, name), user.uuid)
  }

  private findInstance(user: UserRecord, entry: RefEntry): InstanceRecord {
    return lookup(entry, 'instance', (uuid) => this.ctx.store.instance(uuid), (name) => this.ctx.store.instanceByName(user.uuid, name), user.uuid)
  }

  private required(body: unknown, query: URLSearchParams): RefEntry[] {
    const entries = refEntries(body, query)
    if (!entries) throw invalid('Malformed request: name the volumes (an array of objects with a uuid or a name)')
    return entries
  }
}
