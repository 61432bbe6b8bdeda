import {Args, Flags} from '@oclif/core'

import {type Instance, UsageError, deleteInstances, getInstances} from '../../api/index.js'
import {BaseCommand, INSTANCE_TOPICS, commandAliases, renderTransitions} from '../../cli/index.js'

export default class InstanceRemove extends BaseCommand<typeof InstanceRemove> {
  static override summary = 'Remove one or more instances.'
  static override description = 'Deletes instances by name or UUID (a running instance is stopped first), every instance with --all, or every stopped instance with --stopped.'
  static override hiddenAliases = commandAliases(INSTANCE_TOPICS, ['remove', 'rm', 'delete', 'del'])
  static override examples = [
    '<%= config.bin %> instance remove nginx-1a747',
    '<%= config.bin %> instance remove --stopped --yes',
    '<%= config.bin %> instance remove --all --yes',
  ]
  static override strict = false
  static override args = {instance: Args.string({description: 'Name or UUID of an instance (several may be given).'})}

  static override flags = {
    all: Flags.boolean({char: 'a', summary: 'Remove every instance.'}),
    stopped: Flags.boolean({char: 's', summary: 'Remove every stopped instance.'}),
    yes: Flags.boolean({char: 'y', summary: 'Do not ask for confirmation with --all or --stopped.'}),
  }

  async run(): Promise<Instance[]> {
    const {all, stopped, yes} = this.flags
    if (all && stopped) throw new UsageError('cannot use --stopped and --all together')
    const bulk = all || stopped
    if (bulk && this.positional.length > 0) throw new UsageError('either specify instance names or UUIDs, or use --all/--stopped, not both')
    if (!bulk && this.positional.length === 0) throw new UsageError('either specify an instance name or UUID, or use the --all flag')
    const client = await this.client()
    let ids = this.positional
    if (bulk) {
      await this.confirmDestructive(all ? 'Remove every instance?' : 'Remove every stopped instance?', yes)
      const everything = (await getInstances(client)).items
      ids = everything.filter((i) => all || i.state === 'stopped').map((i) => i.uuid)
    }
    if (ids.length === 0) {
      this.note('no instances to remove')
      return []
    }
    this.note(`removing ${ids.length} instance(s)`)
    const result = await deleteInstances(client, ids)
    const removed = this.settleBatch(result.items)
    this.show(result.items, result.raw, (format) => renderTransitions(removed, format, {color: this.color}))
    return result.items
  }
}
