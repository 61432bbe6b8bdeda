import type {UkcClient} from './client.js'
import type {BatchResult} from './envelope.js'
import type {Quotas} from './types.js'

export function getQuotas(client: UkcClient): Promise<BatchResult<Quotas>> {
  return client.call<Quotas>('GET', '/users/quotas', 'quotas', {idempotent: true})
}
