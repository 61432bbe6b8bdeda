// How batch endpoints address objects: a JSON array of `{uuid}` / `{name}` items (plus per-endpoint
// fields), or `?uuid=` / `?name=` query filters as the newer SDKs send them.
import {ErrorCode} from '../../api/types.js'
import {ItemFailure, invalid, notFound} from './failures.js'
import {type Json, isObject} from './fields.js'

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** One addressed item: the raw entry (for per-endpoint fields) and what identified it. */
export interface RefEntry {
  body: Json
  uuid?: string
  name?: string
}

/** The items of a batch body; `undefined` when the request names none (= all). */
export function refEntries(body: unknown, query: URLSearchParams): RefEntry[] | undefined {
  const fromQuery = [
    ...query.getAll('uuid').flatMap((v) => v.split(',')).filter(Boolean).map((uuid) => ({body: {uuid}, uuid})),
    ...query.getAll('name').flatMap((v) => v.split(',')).filter(Boolean).map((name) => ({body: {name}, name})),
  ]
  if (body === undefined) return fromQuery.length > 0 ? fromQuery : undefined
  const list = Array.isArray(body) ? body : [body]
  if (list.length === 0) return fromQuery.length > 0 ? fromQuery : undefined
  return [
    ...list.map((entry: unknown) => {
      if (!isObject(entry)) throw invalid('Malformed request: expected an array of objects with a uuid or a name')
      const uuid = typeof entry.uuid === 'string' ? entry.uuid : undefined
      const name = typeof entry.name === 'string' ? entry.name : undefined
      return {body: entry, uuid, name}
    }),
    ...fromQuery,
  ]
}

/** Finds one of the user's objects by the entry's uuid or name; per-item failures otherwise. */
export function lookup<T extends {uuid: string; user: string}>(
  entry: RefEntry,
  kind: string,
  byUuid: (uuid: string) => T | undefined,
  byName: (name: string) => T | undefined,
  userUuid: string,
): T {
  if (entry.uuid !== undefined && entry.name !== undefined) throw new ItemFailure(ErrorCode.NotBoth, 'Only one of uuid or name may be given')
  if (entry.uuid !== undefined) {
    if (!UUID_RE.test(entry.uuid)) throw new ItemFailure(ErrorCode.Invalid, `Invalid uuid '${entry.uuid}'`)
    const found = byUuid(entry.uuid.toLowerCase())
    // Another user's object is indistinguishable from a missing one.
    if (!found || found.user !== userUuid) throw notFound(kind)
    return found
  }
  if (entry.name !== undefined) {
    const found = byName(entry.name.toLowerCase())
    if (!found) throw notFound(kind)
    return found
  }
  throw new ItemFailure(ErrorCode.MissingID, 'Missing uuid or name')
}
