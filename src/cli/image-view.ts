// How images look on screen (kraft's NAME, VERSION, SIZE columns), and which ones `image list` shows
// by default: your own (namespaced) images, and — on the local platform, whose catalog labels its
// entries `ukc.kind` — every image it can run, marked with whether this host can run it now.
import type {Image, Instance} from '../api/index.js'
import {type Column, formatBytes, renderList, renderTable} from './render.js'

/** `alice/app:1.0` → repository `alice/app`, version `1.0`; an untagged image shows its digest. */
export function imageReference(image: Image): {name: string; version: string} {
  const tag = image.tags?.[0]
  if (tag) {
    const colon = tag.lastIndexOf(':')
    // Host-backed images of the local platform run any tag (postgres:16, redis:7): say so.
    const version = image.labels?.['ukc.tags'] === '*' ? '*' : colon > tag.lastIndexOf('/') ? tag.slice(colon + 1) : 'latest'
    return {name: colon > tag.lastIndexOf('/') ? tag.slice(0, colon) : tag, version}
  }
  const at = image.digest.indexOf('@')
  return at === -1 ? {name: image.digest, version: ''} : {name: image.digest.slice(0, at), version: image.digest.slice(at + 1)}
}

/** Shown without --all: the user's own images, and every entry of the local platform's catalog. */
export function listedByDefault(image: Image): boolean {
  return imageReference(image).name.includes('/') || image.labels?.['ukc.kind'] !== undefined
}

function availability(image: Image): string {
  const value = image.labels?.['ukc.available']
  return value === undefined ? '' : value === 'true' ? 'yes' : 'no (missing on this host)'
}

const COLUMNS: Column<Image>[] = [
  {header: 'NAME', value: (i) => imageReference(i).name},
  {header: 'VERSION', value: (i) => imageReference(i).version},
  {header: 'APP ARGS', value: (i) => i.args ?? '', table: false},
  {header: 'KERNEL ARGS', value: (i) => i.kernel_args ?? '', table: false},
  {header: 'LABELS', value: (i) => Object.entries(i.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(', '), table: false},
  {header: 'SIZE', value: (i) => (i.size_in_bytes === undefined ? '' : formatBytes(i.size_in_bytes))},
]
const AVAILABLE: Column<Image> = {header: 'AVAILABLE', value: availability}

/** `oci://unikraft.io/alice/app:1.0@sha256:ab` → name `alice/app`, tag `1.0`, digest `sha256:ab`. */
export function parseReference(reference: string): {name: string; tag?: string; digest?: string} {
  let rest = reference.trim().replace(/^oci:\/\//, '').replace(/^(index\.)?unikraft\.io\//, '').replace(/^official\//, '')
  const at = rest.indexOf('@')
  const digest = at === -1 ? undefined : rest.slice(at + 1)
  if (at !== -1) rest = rest.slice(0, at)
  const colon = rest.lastIndexOf(':')
  const tagged = colon > rest.lastIndexOf('/')
  return {name: (tagged ? rest.slice(0, colon) : rest).toLowerCase(), tag: tagged ? rest.slice(colon + 1) : undefined, digest}
}

/**
 * Whether an instance runs this image: the same digest when both name one, else the same name and tag
 * (no tag = latest); a local catalog entry that runs any tag (`postgres:*`) matches its name.
 */
export function runsImage(instance: Instance, image: Image): boolean {
  if (!instance.image) return false
  const used = parseReference(instance.image)
  const own = parseReference(image.digest)
  if (used.digest && own.digest) return used.digest === own.digest
  const anyTag = image.labels?.['ukc.tags'] === '*'
  return (image.tags ?? []).map(parseReference).some((tag) => tag.name === used.name && (anyTag || (tag.tag ?? 'latest') === (used.tag ?? 'latest')))
}

export function renderImages(images: Image[], format: 'table' | 'list', options: {instances?: Instance[]} = {}): string {
  if (images.length === 0) return ''
  // The AVAILABLE column exists only where the platform says (the local one).
  const columns = images.some((i) => i.labels?.['ukc.available'] !== undefined) ? [...COLUMNS, AVAILABLE] : [...COLUMNS]
  const {instances} = options
  if (instances) {
    columns.push({header: 'USED BY', value: (image) => instances.filter((i) => runsImage(i, image)).map((i) => i.name).join(', ')})
  }
  return format === 'table' ? renderTable(columns, images) : renderList(columns, images)
}

/** The user's own images: those of the local catalog registered by the user, else namespaced ones. */
export function ownImage(image: Image): boolean {
  const kind = image.labels?.['ukc.kind']
  return kind === undefined ? imageReference(image).name.includes('/') : kind === 'user'
}
