import {Args, Flags} from '@oclif/core'

import {type Volume, detachVolume} from '../../api/index.js'
import {BaseCommand, VOLUME_REF_COLUMNS, VOLUME_TOPICS, commandAliases, renderVolumes} from '../../cli/index.js'

export default class VolumeDetach extends BaseCommand<typeof VolumeDetach> {
  static override summary = 'Detach a persistent volume from its instance.'
  static override description = 'Detaches a volume from the (stopped) instance it is attached to, or only from --from. The volume and its data stay; detaching a volume that was created with an instance makes it persistent.'
  static override hiddenAliases = commandAliases(VOLUME_TOPICS, ['detach', 'det'])
  static override examples = ['<%= config.bin %> volume detach pgdata', '<%= config.bin %> volume detach pgdata --from db']
  static override args = {volume: Args.string({description: 'Name or UUID of the volume.', required: true})}
  static override defaultOutput = 'table' as const

  static override flags = {
    from: Flags.string({summary: 'Name or UUID of the instance to detach the volume from (default: every instance it is attached to).'}),
  }

  async run(): Promise<Volume[]> {
    const {from} = this.flags
    const result = await detachVolume(await this.client(), this.args.volume, from)
    const detached = this.settleBatch(result.items)
    for (const volume of detached) this.note(`detached ${volume.name || volume.uuid}${from ? ` from ${from}` : ''}`)
    this.show(result.items, result.raw, (format) => renderVolumes(detached, format, {columns: VOLUME_REF_COLUMNS}))
    return result.items
  }
}
