// The volume and certificate calls `ukc purge` needs (reference §2.4: `GET`/`DELETE /volumes`,
// `GET`/`DELETE /certificates`). Kept to listing and deleting by reference: the volume and
// certificate commands own the full shapes of those objects.
import {type UkcClient, refOf} from './client.js'
import type {BatchResult} from './envelope.js'
import type {ItemStatus} from './types.js'

/** A volume or certificate as far as purging goes: what it is called. */
export interface PurgeItem extends ItemStatus {
  uuid: string
  name: string
}

export type PurgeKind = 'volumes' | 'certificates'

export function listPurgeable(client: UkcClient, kind: PurgeKind): Promise<BatchResult<PurgeItem>> {
  return client.call<PurgeItem>('GET', `/${kind}`, kind, {idempotent: true})
}

export function deletePurgeable(client: UkcClient, kind: PurgeKind, ids: string[]): Promise<BatchResult<PurgeItem>> {
  return client.call<PurgeItem>('DELETE', `/${kind}`, kind, {body: ids.map(refOf)})
}
