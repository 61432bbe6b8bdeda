import type {UkcClient} from './client.js'
import type {BatchResult} from './envelope.js'
import type {Image, Quotas} from './types.js'

export function getQuotas(client: UkcClient): Promise<BatchResult<Quotas>> {
  return client.call<Quotas>('GET', '/users/quotas', 'quotas', {idempotent: true})
}

/** Images visible to the user; `tag` narrows to one reference (e.g. `nginx:latest`). */
export function listImages(client: UkcClient, tag?: string): Promise<BatchResult<Image>> {
  const body = tag ? [tag.includes('@') ? {digest: tag} : {tag}] : undefined
  return client.call<Image>('GET', '/images/list', 'images', {body, idempotent: true})
}
