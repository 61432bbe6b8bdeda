import {Args} from '@oclif/core'

import {type AutoscalePolicyItem, deleteAutoscalePolicy, serviceUuid} from '../../api/index.js'
import {BaseCommand, SCALE_TOPICS, commandAliases, renderRemoved} from '../../cli/index.js'

export default class ScaleRemove extends BaseCommand<typeof ScaleRemove> {
  static override summary = 'Remove a policy from the autoscale of a service.'
  static override description = 'Deletes the autoscale policy POLICY of SERVICE; the configuration and its other policies stay. kraft takes only the service\'s UUID here; ukc also takes its name.'
  static override hiddenAliases = commandAliases(SCALE_TOPICS, ['remove', 'delete', 'del', 'rm'])
  static override examples = [
    '<%= config.bin %> scale remove my-service my-policy',
    '<%= config.bin %> scale remove fd1684ea-7970-4994-92d6-61dcc7905f2b my-policy --json',
  ]
  static override args = {
    service: Args.string({description: 'Name or UUID of the service.', required: true}),
    policy: Args.string({description: 'Name of the policy to remove.', required: true}),
  }
  static override defaultOutput = 'table' as const

  async run(): Promise<AutoscalePolicyItem[]> {
    const client = await this.client()
    const result = await deleteAutoscalePolicy(client, await serviceUuid(client, this.args.service), this.args.policy)
    const removed = this.settleBatch(result.items.map((item) => ({...item, name: item.name ?? this.args.policy})))
    if (removed.length > 0) this.note(`removed policy ${this.args.policy} of ${this.args.service}`)
    this.show(result.items, result.raw, (format) => renderRemoved(removed, format))
    return result.items
  }
}
