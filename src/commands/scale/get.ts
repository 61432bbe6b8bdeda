import {Args, Flags} from '@oclif/core'

import {type AutoscaleConfig, type AutoscalePolicyItem, allOrThrow, getAutoscale, getAutoscalePolicy, policiesOf, serviceUuid} from '../../api/index.js'
import {BaseCommand, SCALE_TOPICS, commandAliases, renderAutoscale, renderPolicies} from '../../cli/index.js'

export default class ScaleGet extends BaseCommand<typeof ScaleGet> {
  static override summary = 'Show the autoscale configuration of a service, or one of its policies.'
  static override description = 'Prints whether autoscale is enabled for SERVICE, its sizes, warmup and cooldown times, master and policy names; with --policy, that policy\'s metric, adjustment and steps.'
  static override hiddenAliases = commandAliases(SCALE_TOPICS, ['get', 'gt'])
  static override examples = [
    '<%= config.bin %> scale get my-service',
    '<%= config.bin %> scale get my-service --policy my-policy',
    '<%= config.bin %> scale get my-service --output table',
  ]
  static override args = {service: Args.string({description: 'Name or UUID of the service.', required: true})}
  static override defaultOutput = 'list' as const

  static override flags = {
    policy: Flags.string({char: 'p', summary: 'Show this policy instead of the configuration.'}),
  }

  async run(): Promise<AutoscaleConfig[] | AutoscalePolicyItem[]> {
    const client = await this.client()
    if (this.flags.policy !== undefined) {
      const result = await getAutoscalePolicy(client, await serviceUuid(client, this.args.service), this.flags.policy)
      const policies = allOrThrow(result).flatMap(policiesOf)
      this.show(result.items, result.raw, (format) => renderPolicies(policies, format))
      return result.items
    }
    const result = await getAutoscale(client, [this.args.service])
    const configs = this.settleBatch(result.items)
    for (const config of configs.filter((c) => c.status === 'unconfigured')) {
      this.note(`autoscale is not configured for ${config.name || this.args.service}; set it up with \`${this.config.bin} scale init ${config.name || this.args.service} --master INSTANCE\``)
    }
    this.show(result.items, result.raw, (format) => renderAutoscale(configs, format))
    return result.items
  }
}
