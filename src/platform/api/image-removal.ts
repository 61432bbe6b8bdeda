// DELETE /images, the local platform's extension (README, "Images"; the real cloud removes images in
// its registry): `[{tag}|{digest}]`, where a tag without `:` names every tag of an image. Only user
// images — the entries of `<dataDir>/images.json` — can go; built-in and host-backed ones are per-item
// code 7, an image some instance runs is code 15 (Attached), an unknown one code 8. images.json is
// shared by every user of the platform, like the catalog it defines; it is rewritten crash-safely
// (store/durable-file.ts), one removal at a time.
import fs from 'node:fs'
import path from 'node:path'

import type {Image} from '../../api/types.js'
import {USER_IMAGES_FILE} from '../runtime/catalog.js'
import {writeFileDurably} from '../store/index.js'
import type {UserRecord} from '../types.js'
import type {ApiContext} from './context.js'
import {type EnvelopeBody, type Item, failedItem, envelope} from './envelope.js'
import {ErrorCode, ItemFailure, RequestFailure, invalid} from './failures.js'
import {isObject} from './fields.js'
import {normalizeTag} from './images.js'

/** `[{tag}|{tagged}|{digest}]` (or one such object) → the references. */
export function imageRefs(body: unknown): string[] {
  const list = Array.isArray(body) ? body : body === undefined ? [] : [body]
  return list.map((entry: unknown) => {
    if (!isObject(entry)) throw invalid('Malformed request: expected an array of objects with a tag or a digest')
    const ref = entry.tag ?? entry.tagged ?? entry.digest
    if (typeof ref !== 'string' || ref.trim() === '') throw invalid("Each image needs a 'tag' or a 'digest'")
    return ref.trim()
  })
}

/** `ukc/hello:latest` → `ukc/hello`. */
function nameOf(tag: string): string {
  return tag.slice(0, tag.lastIndexOf(':'))
}

/** The catalog images a reference names: by digest, by `name:tag`, or every tag of a bare name. */
function matching(images: Image[], ref: string): Image[] {
  if (ref.includes('@')) return images.filter((i) => i.digest === ref)
  const normalized = normalizeTag(ref)
  const bare = !ref.slice(ref.lastIndexOf('/') + 1).includes(':')
  return images.filter((i) => (i.tags ?? []).some((t) => (bare ? nameOf(normalizeTag(t)) === nameOf(normalized) : normalizeTag(t) === normalized)))
}

export class ImageRemoval {
  /** One removal at a time: each reads images.json, edits it and writes it back. */
  private queue: Promise<unknown> = Promise.resolve()

  constructor(private readonly ctx: ApiContext) {}

  private get file(): string {
    return path.join(this.ctx.store.dataDir, USER_IMAGES_FILE)
  }

  delete(user: UserRecord, body: unknown): Promise<EnvelopeBody> {
    const refs = imageRefs(body)
    if (refs.length === 0) throw invalid('Malformed request: name the images to delete ([{"tag": …}] or [{"digest": …}])')
    const run = this.queue.then(() => this.remove(user, refs))
    this.queue = run.catch(() => {})
    return run
  }

  private async remove(user: UserRecord, refs: string[]): Promise<EnvelopeBody> {
    const {entries, mode} = this.read()
    const images = this.ctx.runtime.catalog.list()
    let changed = false
    const items: Item[] = refs.map((ref) => {
      try {
        const found = matching(images, ref)
        if (found.length === 0) throw new ItemFailure(ErrorCode.NotFound, `no image with name: ${ref}`)
        const fixed = found.find((i) => i.labels?.['ukc.kind'] !== 'user')
        if (fixed) {
          const what = fixed.labels?.['ukc.kind'] === 'host' ? "is served by a server installed on this machine" : 'is built into the platform'
          throw new ItemFailure(ErrorCode.Invalid, `image ${fixed.tags?.[0] ?? ref} ${what} and cannot be removed; only images registered in ${USER_IMAGES_FILE} can`)
        }
        this.checkUnused(user, found, ref)
        for (const key of Object.keys(entries)) {
          if (found.some((image) => this.digestOf(key) === image.digest)) {
            delete entries[key]
            changed = true
          }
        }
        return {status: 'success', ...found[0], tags: found.flatMap((i) => i.tags ?? [])}
      } catch (error) {
        if (error instanceof ItemFailure) return failedItem(error, {name: ref})
        throw error
      }
    })
    if (changed) await writeFileDurably(this.file, `${JSON.stringify(entries, null, 2)}\n`, mode)
    return envelope('images', items)
  }

  /** Code 15 when an instance (of any user: the images are shared) runs one of them; names only the user's own. */
  private checkUnused(user: UserRecord, images: Image[], ref: string): void {
    const digests = new Set(images.map((i) => i.digest))
    const users = this.ctx.store.listInstances().filter((record) => digests.has(this.digestOf(record.image) ?? ''))
    if (users.length === 0) return
    const own = users.filter((r) => r.user === user.uuid).map((r) => r.name)
    const others = users.length - own.length
    const named = [...own, ...(others > 0 ? [`${others} instance(s) of other users`] : [])].join(', ')
    throw new ItemFailure(ErrorCode.Attached, `image ${ref} is used by ${own.length > 0 ? `instance ${named}` : named}; remove ${users.length === 1 ? 'it' : 'them'} first`)
  }

  private digestOf(ref: string): string | undefined {
    try {
      return this.ctx.runtime.catalog.resolve(ref).digest
    } catch {
      return undefined
    }
  }

  private read(): {entries: Record<string, unknown>; mode: number} {
    let text: string
    let mode = 0o644
    try {
      text = fs.readFileSync(this.file, 'utf8')
      mode = fs.statSync(this.file).mode & 0o777
    } catch {
      return {entries: {}, mode}
    }
    try {
      const parsed: unknown = JSON.parse(text)
      if (isObject(parsed)) return {entries: parsed, mode}
    } catch {
      // reported below
    }
    throw new RequestFailure(409, `${this.file} is not a JSON object of images; fix it by hand`)
  }
}
