import {Args} from '@oclif/core'

import {type InstanceMetrics, getInstanceMetrics, instancesOrAll} from '../../api/index.js'
import {BaseCommand, INSTANCE_TOPICS, commandAliases, renderMetrics} from '../../cli/index.js'

const NO_INSTANCES = 'No instances. Create one with `ukc instance create IMAGE`.'

export default class InstanceMetricsCommand extends BaseCommand<typeof InstanceMetricsCommand> {
  static override summary = 'Show the metrics of instances: CPU time, memory, network and connections.'
  static override description = `Prints GET /instances/metrics for the named instances, or for every instance when none is named: RSS, CPU time, connections, bytes received and sent, starts (boots, including each wake of a stateless scaled-to-zero instance) and requests handled; the list format adds packets, in-flight and queued requests, restarts and times. Counters accumulate over starts.
The API reports no separate wake count. \`instance top\` shows the same live.`
  static override hiddenAliases = commandAliases(INSTANCE_TOPICS, ['metrics', 'metric', 'meter'])
  static override examples = [
    '<%= config.bin %> instance metrics',
    '<%= config.bin %> instance metrics my-instance --output list',
    '<%= config.bin %> instance metrics my-instance other-instance --json',
  ]
  static override strict = false
  static override args = {instance: Args.string({description: 'Name or UUID of an instance (several may be given; none: every instance).'})}
  static override defaultOutput = 'table' as const

  async run(): Promise<InstanceMetrics[]> {
    const client = await this.client()
    const ids = await instancesOrAll(client, this.positional)
    if (ids.length === 0) {
      this.show([], undefined, () => '', NO_INSTANCES)
      return []
    }
    const result = await getInstanceMetrics(client, ids)
    const metrics = this.settleBatch(result.items)
    this.show(result.items, result.raw, (format) => renderMetrics(metrics, format, {color: this.color}))
    return result.items
  }
}
