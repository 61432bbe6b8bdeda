import {type UkcClient, isUuid, refOf} from './client.js'
import {type BatchResult, firstOrThrow} from './envelope.js'
import type {CreateServiceRequest, ServiceGroup} from './types.js'

const KEY = 'service_groups'

export function createService(client: UkcClient, request: CreateServiceRequest): Promise<BatchResult<ServiceGroup>> {
  return client.call<ServiceGroup>('POST', '/services', KEY, {body: request})
}

export function getServices(client: UkcClient, ids?: string[]): Promise<BatchResult<ServiceGroup>> {
  const body = ids && ids.length > 0 ? ids.map(refOf) : undefined
  return client.call<ServiceGroup>('GET', '/services', KEY, {body, idempotent: true})
}

export function deleteServices(client: UkcClient, ids: string[]): Promise<BatchResult<ServiceGroup>> {
  return client.call<ServiceGroup>('DELETE', '/services', KEY, {body: ids.map(refOf)})
}

/** The UUID of a service named by UUID or name (one `GET /services` for a name). */
export async function serviceUuid(client: UkcClient, idOrName: string): Promise<string> {
  if (isUuid(idOrName)) return idOrName.toLowerCase()
  return firstOrThrow(await getServices(client, [idOrName])).uuid
}
