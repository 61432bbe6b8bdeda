import {Args, Flags} from '@oclif/core'

import {type AutoscaleConfig, addAutoscalePolicy, allOrThrow, getAutoscale, serviceUuid} from '../../api/index.js'
import {ADJUSTMENTS, BaseCommand, METRICS, SCALE_TOPICS, commandAliases, renderAutoscale, stepPolicy} from '../../cli/index.js'

export default class ScaleAdd extends BaseCommand<typeof ScaleAdd> {
  static override summary = 'Add a step policy to the autoscale of a service.'
  static override description = `Adds a policy that changes the number of instances by the --metric of the service: each --step LOWER:UPPER/ADJUSTMENT applies ADJUSTMENT while the metric is in [LOWER, UPPER); the first step may leave LOWER out and the last UPPER. Between 1 and 4 contiguous steps.
--adjustment takes kraft's words; the API calls "absolute" "exact": change adds ADJUSTMENT instances, absolute sets the count to it, percent changes the count by that percentage.`
  static override hiddenAliases = commandAliases(SCALE_TOPICS, ['add', 'a'])
  static override examples = [
    '<%= config.bin %> scale add my-service --name my-policy --step 0:10/1',
    '<%= config.bin %> scale add my-service --name busy --metric cpu --adjustment change --step :20/-1 --step 20:60/0 --step 60:/2',
    '<%= config.bin %> scale add my-service --name reqs --metric inflight_reqs --adjustment absolute --step 0:100/1 --step 100:/4',
  ]
  static override args = {service: Args.string({description: 'Name or UUID of the service.', required: true})}
  static override defaultOutput = 'list' as const

  static override flags = {
    name: Flags.string({char: 'n', required: true, summary: 'Name of the policy.'}),
    metric: Flags.string({char: 'm', options: [...METRICS], default: 'cpu', summary: 'What the policy watches: cpu (utilisation, %) or inflight_reqs (in-flight HTTP requests).'}),
    adjustment: Flags.string({char: 'a', options: Object.keys(ADJUSTMENTS), default: 'change', summary: 'How a step\'s ADJUSTMENT is applied: change, absolute (API: exact) or percent.'}),
    step: Flags.string({char: 's', multiple: true, multipleNonGreedy: true, required: true, summary: 'A step LOWER:UPPER/ADJUSTMENT, e.g. 0:50/1 or 50:/2 (repeatable, 1 to 4).'}),
  }

  async run(): Promise<AutoscaleConfig[]> {
    const {flags} = this
    const policy = stepPolicy({name: flags.name, metric: flags.metric, adjustment: flags.adjustment, steps: flags.step})
    const client = await this.client()
    const uuid = await serviceUuid(client, this.args.service)
    const added = await addAutoscalePolicy(client, uuid, policy)
    allOrThrow(added)
    const configs = allOrThrow(await getAutoscale(client, [uuid]))
    this.show(configs, added.raw, (format) => renderAutoscale(configs, format))
    return configs
  }
}
