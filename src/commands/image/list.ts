import {Flags} from '@oclif/core'

import {type Image, listImages} from '../../api/index.js'
import {BaseCommand, listedByDefault, renderImages} from '../../cli/index.js'

export default class ImageList extends BaseCommand<typeof ImageList> {
  static override summary = 'List the images you can run.'
  static override description =
    'Lists your own images; --all adds the official ones (those without a namespace). On the local platform it lists every image of its catalog (built-in, host-backed postgres/redis/nginx, and yours), with whether this host can run it now.'
  static override hiddenAliases = ['image:ls', 'img:list', 'img:ls', 'images:list', 'images:ls']
  static override examples = ['<%= config.bin %> image list', '<%= config.bin %> image list --all --output list']
  static override defaultOutput = 'table' as const
  static override flags = {all: Flags.boolean({summary: 'Also list official images.'})}

  async run(): Promise<Image[]> {
    const result = await listImages(await this.client())
    const images = this.settleBatch(result.items).filter((i) => this.flags.all || listedByDefault(i))
    this.show(images, result.raw, (format) => renderImages(images, format), 'No images.')
    return images
  }
}
