import {Args} from '@oclif/core'

import {type Instance, getInstances} from '../../api/index.js'
import {BaseCommand, INSTANCE_TOPICS, commandAliases, renderInstances} from '../../cli/index.js'

export default class InstanceGet extends BaseCommand<typeof InstanceGet> {
  static override summary = 'Show the details of one or more instances.'
  static override description = 'Fetches instances by name or UUID. Instances that do not exist are reported on stderr and make the command exit with code 4; the others are still printed.'
  static override hiddenAliases = commandAliases(INSTANCE_TOPICS, ['get', 'status', 'info'])
  static override examples = [
    '<%= config.bin %> instance get nginx-1a747',
    '<%= config.bin %> instance get nginx-1a747 redis-9f2c1 --output table',
    '<%= config.bin %> instance get 66d05e09-1c4a-4a8f-9c7e-0a1b2c3d4e5f --json',
  ]
  static override strict = false
  static override args = {instance: Args.string({description: 'Name or UUID of an instance (several may be given).', required: true})}
  static override defaultOutput = 'list' as const

  async run(): Promise<Instance[]> {
    const result = await getInstances(await this.client(), this.positional)
    const instances = this.settleBatch(result.items)
    this.show(result.items, result.raw, (format) => renderInstances(instances, format, {color: this.color}))
    return result.items
  }
}
