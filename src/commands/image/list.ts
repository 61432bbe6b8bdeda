import {Flags} from '@oclif/core'

import {type Image, type Instance, getInstances, listImages} from '../../api/index.js'
import {BaseCommand, listedByDefault, renderImages} from '../../cli/index.js'

export default class ImageList extends BaseCommand<typeof ImageList> {
  static override summary = 'List the images you can run.'
  static override description = `Lists your own images; --all adds the official ones (those without a namespace). On the local platform it lists every image of its catalog (built-in, host-backed postgres/redis/nginx, and yours), with whether this host can run it now.
The USED BY column (a ukc addition, computed from your instances) names the instances that run each image; --json prints the API's image objects only.`
  static override hiddenAliases = ['image:ls', 'img:list', 'img:ls', 'images:list', 'images:ls']
  static override examples = ['<%= config.bin %> image list', '<%= config.bin %> image list --all --output list']
  static override defaultOutput = 'table' as const
  static override flags = {all: Flags.boolean({summary: 'Also list official images.'})}

  async run(): Promise<Image[]> {
    const client = await this.client()
    const result = await listImages(client)
    const images = this.settleBatch(result.items).filter((i) => this.flags.all || listedByDefault(i))
    let instances: Instance[] = []
    if (images.length > 0 && (this.format === 'table' || this.format === 'list')) {
      instances = this.settleBatch((await getInstances(client)).items)
    }
    this.show(images, result.raw, (format) => renderImages(images, format, {instances}), 'No images.')
    return images
  }
}
