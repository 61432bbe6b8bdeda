import {type Volume, getVolumes} from '../../api/index.js'
import {BaseCommand, VOLUME_TOPICS, commandAliases, renderVolumes} from '../../cli/index.js'

export default class VolumeList extends BaseCommand<typeof VolumeList> {
  static override summary = 'List your persistent volumes.'
  static override description = 'Lists every volume of the user in the metro with its size, state and the instances it is attached to and mounted by.'
  static override hiddenAliases = commandAliases(VOLUME_TOPICS, ['list', 'ls'])
  static override examples = ['<%= config.bin %> volume list', '<%= config.bin %> volume list --output list', '<%= config.bin %> volume list --output yaml']
  static override defaultOutput = 'table' as const

  async run(): Promise<Volume[]> {
    const result = await getVolumes(await this.client())
    const volumes = this.settleBatch(result.items)
    this.show(result.items, result.raw, (format) => renderVolumes(volumes, format), 'No volumes. Create one with `ukc volume create --size 512Mi`.')
    return result.items
  }
}
