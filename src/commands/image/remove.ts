import {Args, Flags} from '@oclif/core'

import {ExitCode, type Image, UkcError, UsageError, deleteImages, isUnikraftCloudApi, listImages} from '../../api/index.js'
import {BaseCommand, ownImage, renderImages} from '../../cli/index.js'

export default class ImageRemove extends BaseCommand<typeof ImageRemove> {
  static override summary = 'Remove one or more of your images.'
  static override description = `Removes images by reference: NAME (every tag of it), NAME:TAG, or NAME@sha256:DIGEST; --all removes every image of yours.
On the local platform this is DELETE /images (a ukc extension of the API; built-in and host-backed images cannot be removed, only the ones you registered). On real Unikraft Cloud images live in the registry (index.unikraft.io), not behind the API: kraft deletes them there with registry calls the API does not document, so ukc refuses with a hint instead of guessing.`
  static override hiddenAliases = ['image:rm', 'image:delete', 'image:del', 'img:remove', 'img:rm', 'img:delete', 'img:del', 'images:remove', 'images:rm']
  static override examples = [
    '<%= config.bin %> image remove my-app',
    '<%= config.bin %> image remove my-app:1.0 other-app@sha256:2ba5324141',
    '<%= config.bin %> image remove --all --yes',
  ]
  static override strict = false
  static override args = {image: Args.string({description: 'Image to remove: NAME, NAME:TAG or NAME@sha256:DIGEST (several may be given).'})}
  static override defaultOutput = 'table' as const

  static override flags = {
    all: Flags.boolean({summary: 'Remove every image of yours.'}),
    yes: Flags.boolean({char: 'y', summary: 'Do not ask for confirmation with --all.'}),
  }

  async run(): Promise<Image[]> {
    const {all, yes} = this.flags
    if (all && this.positional.length > 0) throw new UsageError('either specify image names, or use the --all flag, not both')
    if (!all && this.positional.length === 0) throw new UsageError('either specify an image name, or use the --all flag')
    const target = await this.resolveTarget()
    if (isUnikraftCloudApi(target.baseUrl)) {
      throw new UkcError(`on Unikraft Cloud (${target.metro}) images are removed from the registry, which ukc does not manage`, {
        exitCode: ExitCode.Usage,
        code: 'UNSUPPORTED',
        hint: 'remove it with `kraft cloud image remove IMAGE` or in the registry at index.unikraft.io',
      })
    }
    const client = await this.client()
    let references = this.positional
    if (all) {
      await this.confirmDestructive('Remove every image of yours?', yes)
      references = this.settleBatch((await listImages(client)).items).filter(ownImage).map((i) => i.tags?.[0] ?? i.digest)
    }
    if (references.length === 0) {
      this.note('no images to remove')
      return []
    }
    this.note(`removing ${references.length} image(s)`)
    const unique = [...new Set(references)]
    const result = await deleteImages(client, unique)
    // Named for the error lines: an item answers for the reference at its position.
    const removed = this.settleBatch(result.items.map((item, i) => ({...item, name: item.tags?.[0] ?? (item.digest || unique[i])})))
    this.show(result.items, result.raw, (format) => renderImages(removed, format))
    return result.items
  }
}
