import {Args} from '@oclif/core'

import {type Volume, getVolumes} from '../../api/index.js'
import {BaseCommand, VOLUME_TOPICS, commandAliases, renderVolumes} from '../../cli/index.js'

export default class VolumeGet extends BaseCommand<typeof VolumeGet> {
  static override summary = 'Show the details of one or more persistent volumes.'
  static override description = 'Fetches volumes by name or UUID. Volumes that do not exist are reported on stderr and make the command exit with code 4; the others are still printed.'
  static override hiddenAliases = commandAliases(VOLUME_TOPICS, ['get', 'gt'])
  static override examples = [
    '<%= config.bin %> volume get pgdata',
    '<%= config.bin %> volume get pgdata uploads --output table',
    '<%= config.bin %> volume get fd1684ea-7970-4994-92d6-61dcc7905f2b --json',
  ]
  static override strict = false
  static override args = {volume: Args.string({description: 'Name or UUID of a volume (several may be given).', required: true})}
  static override defaultOutput = 'list' as const

  async run(): Promise<Volume[]> {
    const result = await getVolumes(await this.client(), this.positional)
    const volumes = this.settleBatch(result.items)
    this.show(result.items, result.raw, (format) => renderVolumes(volumes, format))
    return result.items
  }
}
