import {type UkcClient, refOf} from './client.js'
import type {BatchResult} from './envelope.js'
import type {Certificate, CreateCertificateRequest} from './types.js'

const KEY = 'certificates'

/** Uploads a chain and its private key; the key travels only in this request body. */
export function createCertificate(client: UkcClient, request: CreateCertificateRequest): Promise<BatchResult<Certificate>> {
  return client.call<Certificate>('POST', '/certificates', KEY, {body: request})
}

/** All certificates with details (no body), or the named ones. */
export function getCertificates(client: UkcClient, ids?: string[]): Promise<BatchResult<Certificate>> {
  const body = ids && ids.length > 0 ? ids.map(refOf) : undefined
  return client.call<Certificate>('GET', '/certificates', KEY, {body, idempotent: true})
}

/** The API refuses to delete a certificate a service still uses. */
export function deleteCertificates(client: UkcClient, ids: string[]): Promise<BatchResult<Certificate>> {
  return client.call<Certificate>('DELETE', '/certificates', KEY, {body: ids.map(refOf)})
}
