// How images look on screen (kraft's NAME, VERSION, SIZE columns), and which ones `image list` shows
// by default: your own (namespaced) images, and — on the local platform, whose catalog labels its
// entries `ukc.kind` — every image it can run, marked with whether this host can run it now.
import type {Image} from '../api/index.js'
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

export function renderImages(images: Image[], format: 'table' | 'list'): string {
  if (images.length === 0) return ''
  // The AVAILABLE column exists only where the platform says (the local one).
  const columns = images.some((i) => i.labels?.['ukc.available'] !== undefined) ? [...COLUMNS, AVAILABLE] : COLUMNS
  return format === 'table' ? renderTable(columns, images) : renderList(columns, images)
}
