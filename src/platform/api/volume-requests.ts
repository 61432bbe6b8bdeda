// Reading volume requests: POST /volumes bodies, and instance create's `volumes` items. Whatever is
// malformed is a 400 for the whole request, like the other endpoints' fields.
import {invalid} from './failures.js'
import {bool, isObject, onlyKnown} from './fields.js'
import {validName} from './names.js'
import type {RefEntry} from './refs.js'
import {mountPath, volumeSize} from './volume-rules.js'

/** The OpenAPI's bound on an instance's volumes. */
export const MAX_INSTANCE_VOLUMES = 253

export interface VolumeDraft {
  name?: string
  size_mb: number
}

/** An instance create's volume: an existing one (by uuid or name), or a new one of `size_mb`. */
export type VolumeRequest = {ref: RefEntry; at: string; readonly: boolean} | {size_mb: number; at: string; readonly: boolean}

/** POST /volumes: the SDK sends one object, the OpenAPI file an array of them. */
export function readVolumeDrafts(body: unknown): VolumeDraft[] {
  const list = Array.isArray(body) ? body : [body]
  if (list.length === 0) throw invalid('Malformed request: describe at least one volume')
  return list.map((entry: unknown) => {
    if (!isObject(entry)) throw invalid('Malformed request: expected an object with size_mb (or an array of them)')
    onlyKnown(entry, ['name', 'size_mb', 'template'])
    if (entry.template !== undefined && entry.template !== null) throw invalid('Volume templates are not supported by the local platform')
    return {...(entry.name === undefined || entry.name === null ? {} : {name: validName(entry.name)}), size_mb: volumeSize(entry.size_mb)}
  })
}

function refOf(item: Record<string, unknown>): RefEntry {
  const {uuid, name} = item
  if (uuid !== undefined && uuid !== null && name !== undefined && name !== null) throw invalid("Only one of 'uuid' or 'name' may be given in a volume")
  if ((uuid !== undefined && typeof uuid !== 'string') || (name !== undefined && typeof name !== 'string')) {
    throw invalid("Values of 'uuid' and 'name' in a volume must be strings")
  }
  return {body: item, ...(typeof uuid === 'string' ? {uuid} : {}), ...(typeof name === 'string' ? {name} : {})}
}

/** Instance create's `volumes`: `[{uuid|name, at, readonly}]` or `[{size_mb, at, readonly}]`. */
export function readInstanceVolumes(value: unknown): VolumeRequest[] {
  if (value === undefined || value === null) return []
  if (!Array.isArray(value)) throw invalid("Value of 'volumes' must be an array")
  if (value.length > MAX_INSTANCE_VOLUMES) throw invalid(`Value of 'volumes' must have at most ${MAX_INSTANCE_VOLUMES} items`)
  return value.map((item: unknown): VolumeRequest => {
    if (!isObject(item)) throw invalid("Value of 'volumes' must be an array of objects")
    onlyKnown(item, ['uuid', 'name', 'size_mb', 'at', 'readonly'], 'volumes.')
    const at = mountPath(item.at)
    const readonly = bool(item, 'readonly', false)
    const refers = (item.uuid !== undefined && item.uuid !== null) || (item.name !== undefined && item.name !== null)
    const sized = item.size_mb !== undefined && item.size_mb !== null
    if (refers && sized) throw invalid('A volume is either an existing one (uuid or name) or a new one (size_mb), not both')
    if (refers) return {ref: refOf(item), at, readonly}
    if (!sized) throw invalid('A volume needs the uuid or the name of an existing volume, or size_mb for a new one')
    return {size_mb: volumeSize(item.size_mb), at, readonly}
  })
}
