import {Args, Flags} from '@oclif/core'

import {type Volume, attachVolume} from '../../api/index.js'
import {BaseCommand, VOLUME_REF_COLUMNS, VOLUME_TOPICS, commandAliases, parseMountPath, renderVolumes} from '../../cli/index.js'

export default class VolumeAttach extends BaseCommand<typeof VolumeAttach> {
  static override summary = 'Attach a persistent volume to an instance.'
  static override description = `Attaches an available volume to a stopped instance, mounted at --at (created when missing) from the instance's next start on. A volume is attached to one instance at a time.`
  static override hiddenAliases = commandAliases(VOLUME_TOPICS, ['attach', 'at'])
  static override examples = [
    '<%= config.bin %> volume attach pgdata --to db --at /var/lib/postgresql/data',
    '<%= config.bin %> volume attach 77d0316a-fbbe-488d-8618-5bf7a612477a --to nginx --at /mnt/data --read-only',
  ]
  static override args = {volume: Args.string({description: 'Name or UUID of the volume.', required: true})}
  static override defaultOutput = 'table' as const

  static override flags = {
    to: Flags.string({required: true, summary: 'Name or UUID of the (stopped) instance to attach the volume to.'}),
    at: Flags.string({required: true, summary: 'Absolute path inside the instance where the volume is mounted, e.g. /data.'}),
    'read-only': Flags.boolean({char: 'r', summary: 'Mount the volume read-only.'}),
  }

  async run(): Promise<Volume[]> {
    const {flags} = this
    const at = parseMountPath(flags.at, '--at')
    const readonly = flags['read-only']
    const result = await attachVolume(await this.client(), this.args.volume, {to: flags.to, at, readonly})
    const attached = this.settleBatch(result.items)
    for (const volume of attached) this.note(`attached ${volume.name || volume.uuid} to ${flags.to} at ${at}${readonly ? ' (read-only)' : ''}`)
    this.show(result.items, result.raw, (format) => renderVolumes(attached, format, {columns: VOLUME_REF_COLUMNS}))
    return result.items
  }
}
