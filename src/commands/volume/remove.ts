import {Args, Flags} from '@oclif/core'

import {type Volume, UsageError, deleteVolumes, getVolumes, isAttached} from '../../api/index.js'
import {BaseCommand, VOLUME_REF_COLUMNS, VOLUME_TOPICS, commandAliases, renderVolumes} from '../../cli/index.js'

export default class VolumeRemove extends BaseCommand<typeof VolumeRemove> {
  static override summary = 'Permanently delete one or more persistent volumes.'
  static override description = 'Deletes volumes and their data by name or UUID, or with --all every volume that is not attached to an instance. The API refuses to delete an attached volume (exit code 5): detach it first.'
  static override hiddenAliases = commandAliases(VOLUME_TOPICS, ['remove', 'rm', 'delete', 'del'])
  static override examples = [
    '<%= config.bin %> volume remove pgdata',
    '<%= config.bin %> volume remove pgdata uploads',
    '<%= config.bin %> volume remove --all --yes',
  ]
  static override strict = false
  static override args = {volume: Args.string({description: 'Name or UUID of a volume (several may be given).'})}
  static override defaultOutput = 'table' as const

  static override flags = {
    all: Flags.boolean({char: 'a', summary: 'Remove every volume that is not attached to an instance.'}),
    yes: Flags.boolean({char: 'y', summary: 'Do not ask for confirmation with --all.'}),
  }

  async run(): Promise<Volume[]> {
    const {all, yes} = this.flags
    if (all && this.positional.length > 0) throw new UsageError('cannot specify volumes and use the --all flag')
    if (!all && this.positional.length === 0) throw new UsageError('either specify a volume name or UUID, or use the --all flag')
    const client = await this.client()
    let ids = this.positional
    if (all) {
      await this.confirmDestructive('Remove every volume that is not attached?', yes)
      const volumes = this.settleBatch((await getVolumes(client)).items)
      const attached = volumes.filter(isAttached).length
      if (attached > 0) this.note(`leaving ${attached} attached volume(s)`)
      ids = volumes.filter((v) => !isAttached(v)).map((v) => v.uuid)
    }
    if (ids.length === 0) {
      this.note('no volumes to remove')
      return []
    }
    this.note(`removing ${ids.length} volume(s)`)
    const result = await deleteVolumes(client, ids)
    const removed = this.settleBatch(result.items)
    this.show(result.items, result.raw, (format) => renderVolumes(removed, format, {columns: VOLUME_REF_COLUMNS}))
    return result.items
  }
}
