import {type UkcClient, refOf} from './client.js'
import type {BatchResult} from './envelope.js'
import {NotFoundError, type UkcError} from './errors.js'
import type {CreateVolumeRequest, Volume, VolumeSpec} from './types.js'

const KEY = 'volumes'

export function createVolume(client: UkcClient, request: CreateVolumeRequest): Promise<BatchResult<Volume>> {
  return client.call<Volume>('POST', '/volumes', KEY, {body: request})
}

/** All volumes with details (no body), or the named ones. */
export function getVolumes(client: UkcClient, ids?: string[]): Promise<BatchResult<Volume>> {
  const body = ids && ids.length > 0 ? ids.map(refOf) : undefined
  return client.call<Volume>('GET', '/volumes', KEY, {body, idempotent: true})
}

export function deleteVolumes(client: UkcClient, ids: string[]): Promise<BatchResult<Volume>> {
  return client.call<Volume>('DELETE', '/volumes', KEY, {body: ids.map(refOf)})
}

export interface VolumeAttachment {
  /** Name or UUID of the instance (it must be stopped). */
  to: string
  /** Mount point inside the instance. */
  at: string
  readonly?: boolean
}

/** Not retried: a second attach after a lost answer would fail as "already attached". */
export function attachVolume(client: UkcClient, id: string, attachment: VolumeAttachment): Promise<BatchResult<Volume>> {
  const body = [{...refOf(id), attach_to: refOf(attachment.to), at: attachment.at, readonly: attachment.readonly ?? false}]
  return client.call<Volume>('PUT', '/volumes/attach', KEY, {body})
}

/** From every instance it is attached to, or only from `from`. */
export function detachVolume(client: UkcClient, id: string, from?: string): Promise<BatchResult<Volume>> {
  const body = [{...refOf(id), ...(from === undefined ? {} : {from: refOf(from)})}]
  return client.call<Volume>('PUT', '/volumes/detach', KEY, {body})
}

/** Attached to an instance: `volume remove --all` leaves it, and the API refuses to delete it. */
export function isAttached(volume: Volume): boolean {
  return (volume.attached_to ?? []).length > 0
}

const MISSING_VOLUME_HINT = 'a volume given to `instance create --volume` must exist already: see `ukc volume list`, or create it with `ukc volume create --name NAME --size 512Mi`'

/**
 * The API attaches only existing volumes by name or UUID (a volume is created with an instance only
 * from `size_mb`, under a generated name), so a not-found answer that names a volume of the request
 * gets a hint saying so. Any other error is returned as it is.
 */
export function explainMissingVolume(error: UkcError, volumes: readonly VolumeSpec[]): UkcError {
  if (!(error instanceof NotFoundError) || error.hint) return error
  const refs = volumes.flatMap((v) => [v.name, v.uuid]).filter((ref): ref is string => Boolean(ref))
  const aboutVolume = /\bvolumes?\b/i.test(error.message) || refs.some((ref) => error.message.includes(ref))
  return aboutVolume ? new NotFoundError(error.message, MISSING_VOLUME_HINT) : error
}
