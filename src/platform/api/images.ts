// GET /images/list: the runtime's catalog, optionally narrowed by `[{tag}|{digest}]`.
import type {Image} from '../../api/types.js'
import type {ApiContext} from './context.js'
import {type EnvelopeBody, type Item, eachItem, envelope} from './envelope.js'
import {ErrorCode, ItemFailure, invalid} from './failures.js'
import {isObject} from './fields.js'

/** `nginx` → `nginx:latest`; leading `index.unikraft.io/` and `official/` dropped, as kraft does. */
export function normalizeTag(ref: string): string {
  const bare = ref.replace(/^index\.unikraft\.io\//, '').replace(/^official\//, '')
  return bare.includes(':') || bare.includes('@') ? bare : `${bare}:latest`
}

function findImage(ctx: ApiContext, images: Image[], ref: string): Image | undefined {
  const tag = normalizeTag(ref)
  const direct = images.find((i) => i.digest === ref || (i.tags ?? []).some((t) => t === ref || normalizeTag(t) === tag))
  if (direct) return direct
  try {
    // Catalog entries like `postgres:*` match many tags: ask the catalog itself.
    const resolved = ctx.runtime.catalog.resolve(ref)
    const entry = images.find((i) => i.digest === resolved.digest)
    return {...(entry ?? {digest: resolved.digest}), tags: [ref]}
  } catch {
    return undefined
  }
}

export async function imagesList(ctx: ApiContext, body: unknown, query: URLSearchParams): Promise<EnvelopeBody> {
  const images = ctx.runtime.catalog.list()
  const refs: string[] = []
  if (query.get('tagged')) refs.push(query.get('tagged') as string)
  if (body !== undefined) {
    const list = Array.isArray(body) ? body : [body]
    for (const entry of list) {
      if (!isObject(entry)) throw invalid('Malformed request: expected an array of objects with a tag or a digest')
      const ref = entry.tag ?? entry.tagged ?? entry.digest
      if (typeof ref !== 'string') throw invalid("Each image filter needs a 'tag' or a 'digest'")
      refs.push(ref)
    }
  }
  if (refs.length === 0) return envelope('images', images.map((i) => ({status: 'success', ...i}) as Item))
  const items = await eachItem(refs, (ref) => ({name: ref}), async (ref) => {
    const image = findImage(ctx, images, ref)
    if (!image) throw new ItemFailure(ErrorCode.NotFound, `no image with name: ${ref}`)
    return {status: 'success', ...image} as Item
  })
  return envelope('images', items)
}
