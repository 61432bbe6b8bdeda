import {Args} from '@oclif/core'

import {type ServiceGroup, getServices} from '../../api/index.js'
import {BaseCommand, SERVICE_TOPICS, commandAliases, renderServices} from '../../cli/index.js'

export default class ServiceGet extends BaseCommand<typeof ServiceGet> {
  static override summary = 'Show the details of a service.'
  static override description = 'Fetches one service by name or UUID: its domains, published ports, limits and instances.'
  static override hiddenAliases = commandAliases(SERVICE_TOPICS, ['get', 'gt'])
  static override examples = ['<%= config.bin %> service get my-service', '<%= config.bin %> service get my-service --output table', '<%= config.bin %> service get my-service --json']
  static override args = {service: Args.string({description: 'Name or UUID of the service.', required: true})}
  static override defaultOutput = 'list' as const

  async run(): Promise<ServiceGroup[]> {
    const result = await getServices(await this.client(), [this.args.service])
    const services = this.settleBatch(result.items)
    this.show(result.items, result.raw, (format) => renderServices(services, format))
    return result.items
  }
}
