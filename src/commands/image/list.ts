import {Flags} from '@oclif/core'

import {type Image, listImages} from '../../api/index.js'
import {BaseCommand, type Column, formatBytes, renderList, renderTable} from '../../cli/index.js'

/** `alice/app:1.0` → repository `alice/app`, version `1.0`; an untagged image shows its digest. */
function reference(image: Image): {name: string; version: string} {
  const tag = image.tags?.[0]
  if (tag) {
    const colon = tag.lastIndexOf(':')
    return colon > tag.lastIndexOf('/') ? {name: tag.slice(0, colon), version: tag.slice(colon + 1)} : {name: tag, version: 'latest'}
  }
  const at = image.digest.indexOf('@')
  return at === -1 ? {name: image.digest, version: ''} : {name: image.digest.slice(0, at), version: image.digest.slice(at + 1)}
}

const COLUMNS: Column<Image>[] = [
  {header: 'NAME', value: (i) => reference(i).name},
  {header: 'VERSION', value: (i) => reference(i).version},
  {header: 'APP ARGS', value: (i) => i.args ?? '', table: false},
  {header: 'KERNEL ARGS', value: (i) => i.kernel_args ?? '', table: false},
  {header: 'LABELS', value: (i) => Object.entries(i.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(', '), table: false},
  {header: 'SIZE', value: (i) => (i.size_in_bytes === undefined ? '' : formatBytes(i.size_in_bytes))},
]

export default class ImageList extends BaseCommand<typeof ImageList> {
  static override summary = 'List the images you can run.'
  static override description = 'Lists your own images; --all adds the official ones (those without a namespace).'
  static override hiddenAliases = ['image:ls', 'img:list', 'img:ls', 'images:list', 'images:ls']
  static override examples = ['<%= config.bin %> image list', '<%= config.bin %> image list --all --output list']
  static override defaultOutput = 'table' as const
  static override flags = {all: Flags.boolean({summary: 'Also list official images.'})}

  async run(): Promise<Image[]> {
    const result = await listImages(await this.client())
    const images = this.settleBatch(result.items).filter((i) => this.flags.all || reference(i).name.includes('/'))
    this.show(images, result.raw, (format) => (images.length === 0 ? '' : format === 'table' ? renderTable(COLUMNS, images) : renderList(COLUMNS, images)), 'No images.')
    return images
  }
}
