import {Args, Flags} from '@oclif/core'

import {type Instance, UsageError, getInstances, startInstances} from '../../api/index.js'
import {BaseCommand, INSTANCE_TOPICS, commandAliases, parseDuration, renderTransitions} from '../../cli/index.js'

export default class InstanceStart extends BaseCommand<typeof InstanceStart> {
  static override summary = 'Start one or more instances.'
  static override description = 'Starts stopped instances by name or UUID, or every instance with --all. With --wait the API holds the answer until each instance runs or the duration passes.'
  static override hiddenAliases = commandAliases(INSTANCE_TOPICS, ['start', 'str'])
  static override examples = [
    '<%= config.bin %> instance start nginx-1a747',
    '<%= config.bin %> instance start nginx-1a747 redis-9f2c1 --wait 10s',
    '<%= config.bin %> instance start --all',
  ]
  static override strict = false
  static override args = {instance: Args.string({description: 'Name or UUID of an instance (several may be given).'})}

  static override flags = {
    all: Flags.boolean({char: 'a', summary: 'Start every instance.'}),
    wait: Flags.string({char: 'w', summary: 'Wait up to this long for each instance to run, a duration such as 10s.'}),
  }

  async run(): Promise<Instance[]> {
    const client = await this.client()
    if (this.flags.all && this.positional.length > 0) throw new UsageError('either specify instance names or UUIDs, or use the --all flag, not both')
    const ids = this.flags.all ? (await getInstances(client)).items.map((i) => i.uuid) : this.positional
    if (ids.length === 0) {
      if (!this.flags.all) throw new UsageError('either specify an instance name or UUID, or use the --all flag')
      this.note('no instances to start')
      return []
    }
    const waitMs = this.flags.wait === undefined ? undefined : parseDuration(this.flags.wait, {flag: '--wait', minMs: 1})
    this.note(`starting ${ids.length} instance(s)`)
    const result = await startInstances(client, ids, waitMs)
    const started = this.settleBatch(result.items)
    this.show(result.items, result.raw, (format) => renderTransitions(started, format, {color: this.color}))
    return result.items
  }
}
