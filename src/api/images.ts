// Images: the catalog (`GET /images/list`), waiting for a pushed image to show up, and removal.
// On real Unikraft Cloud images are removed from the registry, not through the API (kraft talks to
// index.unikraft.io / Harbor); `DELETE /images` is the embedded platform's extension (README, Images).
import {setTimeout as delay} from 'node:timers/promises'

import type {UkcClient} from './client.js'
import {type BatchResult, isFailed} from './envelope.js'
import {AuthError, NetworkError, NotFoundError} from './errors.js'
import type {Image} from './types.js'

const KEY = 'images'
const POLL_MS = 1000

/** `{digest}` for `name@sha256:…`, `{tag}` otherwise: how the image endpoints address an image. */
export function imageRefOf(reference: string): {tag: string} | {digest: string} {
  return reference.includes('@') ? {digest: reference} : {tag: reference}
}

/** Images visible to the user; `tag` narrows to one reference (e.g. `nginx:latest`). */
export function listImages(client: UkcClient, tag?: string, options: {signal?: AbortSignal} = {}): Promise<BatchResult<Image>> {
  const body = tag ? [imageRefOf(tag)] : undefined
  return client.call<Image>('GET', '/images/list', KEY, {body, idempotent: true, signal: options.signal})
}

/** Local extension: `DELETE /images` `[{tag}|{digest}]`; a tag-less name removes every tag of it. */
export function deleteImages(client: UkcClient, references: string[]): Promise<BatchResult<Image>> {
  return client.call<Image>('DELETE', '/images', KEY, {body: references.map(imageRefOf)})
}

/**
 * Polls `GET /images/list` until `reference` is listed (kraft's --wait-for-image: a pushed image takes
 * a moment to reach the metro). Not-found answers and network failures are retried until the
 * deadline; a rejected token is not.
 */
export async function waitForImage(client: UkcClient, reference: string, timeoutMs: number, signal?: AbortSignal): Promise<Image> {
  const deadline = Date.now() + timeoutMs
  let last = ''
  for (;;) {
    try {
      const found = (await listImages(client, reference, {signal})).items.find((i) => !isFailed(i))
      if (found) return found
      last = 'not listed yet'
    } catch (error) {
      if (error instanceof AuthError || signal?.aborted || !(error instanceof NotFoundError || error instanceof NetworkError)) throw error
      last = error.message
    }
    if (Date.now() >= deadline) {
      throw new NotFoundError(`image ${reference} is not available after ${timeoutMs} ms (${last})`, 'check the name with `ukc image list`; a large push may need a longer --wait-for-image-timeout')
    }
    await delay(Math.min(POLL_MS, Math.max(0, deadline - Date.now())), undefined, {signal})
  }
}
