import {Args} from '@oclif/core'

import {type AutoscaleConfig, deleteAutoscale} from '../../api/index.js'
import {BaseCommand, SCALE_TOPICS, commandAliases, renderRemoved} from '../../cli/index.js'

export default class ScaleReset extends BaseCommand<typeof ScaleReset> {
  static override summary = 'Remove the autoscale configuration of a service.'
  static override description = 'Deletes the autoscale configuration and every policy of SERVICE. The instances autoscale created are drained (for at most the cooldown time) and deleted; the master instance stays, and is started if it was stopped.'
  static override hiddenAliases = commandAliases(SCALE_TOPICS, ['reset', 'rs', 'delconfig', 'deinit', 'rmconfig'])
  static override examples = ['<%= config.bin %> scale reset my-service', '<%= config.bin %> scale reset fd1684ea-7970-4994-92d6-61dcc7905f2b --json']
  static override args = {service: Args.string({description: 'Name or UUID of the service.', required: true})}
  static override defaultOutput = 'table' as const

  async run(): Promise<AutoscaleConfig[]> {
    const result = await deleteAutoscale(await this.client(), [this.args.service])
    const reset = this.settleBatch(result.items)
    if (reset.length > 0) this.note(`removed the autoscale configuration of ${this.args.service}`)
    this.show(result.items, result.raw, (format) => renderRemoved(reset, format))
    return result.items
  }
}
