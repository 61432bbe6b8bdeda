import {type ServiceGroup, getServices} from '../../api/index.js'
import {BaseCommand, SERVICE_TOPICS, commandAliases, renderServices} from '../../cli/index.js'

export default class ServiceList extends BaseCommand<typeof ServiceList> {
  static override summary = 'List your services.'
  static override description = 'Lists every service (public endpoint) of the user in the metro with its domains, published ports and instances.'
  static override hiddenAliases = commandAliases(SERVICE_TOPICS, ['list', 'ls'])
  static override examples = ['<%= config.bin %> service list', '<%= config.bin %> service list --output list', '<%= config.bin %> service list --json']
  static override defaultOutput = 'table' as const

  async run(): Promise<ServiceGroup[]> {
    const result = await getServices(await this.client())
    const services = this.settleBatch(result.items)
    this.show(result.items, result.raw, (format) => renderServices(services, format), 'No services. Create one with `ukc service create EXT:INT`.')
    return result.items
  }
}
