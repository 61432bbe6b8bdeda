import {Flags} from '@oclif/core'

import {type Volume, allOrThrow, createVolume, getVolumes} from '../../api/index.js'
import {BaseCommand, VOLUME_TOPICS, commandAliases, parseMemory, renderVolumes} from '../../cli/index.js'

export default class VolumeCreate extends BaseCommand<typeof VolumeCreate> {
  static override summary = 'Create a persistent volume.'
  static override description = `Creates an empty persistent volume. Mount it into a stopped instance with \`volume attach\`, or into a new one with \`instance create --volume NAME:/path\`. A volume's size cannot be changed later.
--size is MiB as a plain integer (512) or a quantity such as 512Mi, 1Gi or 1G; at least 1Mi.`
  static override hiddenAliases = commandAliases(VOLUME_TOPICS, ['create', 'crt', 'new'])
  static override examples = [
    '<%= config.bin %> volume create --size 512Mi --name pgdata',
    '<%= config.bin %> volume create --size 100',
    '<%= config.bin %> volume create --size 1Gi --name uploads --json',
  ]
  static override defaultOutput = 'table' as const

  static override flags = {
    size: Flags.string({char: 's', required: true, summary: 'Size: MiB as an integer, or a quantity such as 512Mi or 1Gi (at least 1Mi).'}),
    name: Flags.string({char: 'n', summary: 'Name of the volume (default: generated, vol-XXXXX).'}),
  }

  async run(): Promise<Volume[]> {
    const {flags} = this
    const request = {...(flags.name ? {name: flags.name} : {}), size_mb: parseMemory(flags.size, 'size')}
    const client = await this.client()
    const created = await createVolume(client, request)
    const volumes = allOrThrow(await getVolumes(client, allOrThrow(created).map((v) => v.uuid)))
    this.show(volumes, created.raw, (format) => renderVolumes(volumes, format))
    return volumes
  }
}
