import {Args, Flags} from '@oclif/core'

import {type Instance, UsageError, getInstances, stopInstances} from '../../api/index.js'
import {BaseCommand, INSTANCE_TOPICS, commandAliases, parseDuration, renderTransitions} from '../../cli/index.js'

export default class InstanceStop extends BaseCommand<typeof InstanceStop> {
  static override summary = 'Stop one or more instances.'
  static override description = 'Stops instances by name or UUID, or every instance with --all. --wait gives open connections that long to drain before the instance stops; --force stops at once.'
  static override hiddenAliases = commandAliases(INSTANCE_TOPICS, ['stop', 'st'])
  static override examples = [
    '<%= config.bin %> instance stop nginx-1a747',
    '<%= config.bin %> instance stop nginx-1a747 --wait 30s',
    '<%= config.bin %> instance stop --all --force',
  ]
  static override strict = false
  static override args = {instance: Args.string({description: 'Name or UUID of an instance (several may be given).'})}

  static override flags = {
    all: Flags.boolean({char: 'a', summary: 'Stop every instance.'}),
    force: Flags.boolean({char: 'f', summary: 'Stop immediately, without draining.'}),
    wait: Flags.string({char: 'w', summary: 'Drain connections for up to this long before stopping, a duration such as 30s.', exclusive: ['drain-timeout']}),
    'drain-timeout': Flags.string({char: 'd', summary: 'Deprecated: use --wait.', deprecated: {to: 'wait'}, exclusive: ['wait']}),
    yes: Flags.boolean({char: 'y', summary: 'Do not ask for confirmation with --all.'}),
  }

  async run(): Promise<Instance[]> {
    const client = await this.client()
    if (this.flags.all && this.positional.length > 0) throw new UsageError('either specify instance names or UUIDs, or use the --all flag, not both')
    if (!this.flags.all && this.positional.length === 0) throw new UsageError('either specify an instance UUID or --all flag')
    const drain = this.flags.wait ?? this.flags['drain-timeout']
    const drainTimeoutMs = drain === undefined ? undefined : parseDuration(drain, {flag: '--wait', minMs: 1})
    if (this.flags.all) await this.confirmDestructive('Stop every instance?', this.flags.yes)
    const ids = this.flags.all ? (await getInstances(client)).items.map((i) => i.uuid) : this.positional
    if (ids.length === 0) {
      this.note('no instances to stop')
      return []
    }
    this.note(`stopping ${ids.length} instance(s)`)
    const result = await stopInstances(client, ids, {force: this.flags.force, drainTimeoutMs})
    const stopped = this.settleBatch(result.items)
    this.show(result.items, result.raw, (format) => renderTransitions(stopped, format, {color: this.color}))
    return result.items
  }
}
