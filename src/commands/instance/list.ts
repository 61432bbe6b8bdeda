import {type Instance, getInstances} from '../../api/index.js'
import {BaseCommand, INSTANCE_TOPICS, commandAliases, renderInstances} from '../../cli/index.js'

export default class InstanceList extends BaseCommand<typeof InstanceList> {
  static override summary = 'List your instances.'
  static override description = 'Lists every instance of the user in the metro, with its public or private FQDN, state and image.'
  static override hiddenAliases = commandAliases(INSTANCE_TOPICS, ['list', 'ls'])
  static override examples = [
    '<%= config.bin %> instance list',
    '<%= config.bin %> instance list --output list',
    '<%= config.bin %> instance list --metro fra --json',
  ]
  static override defaultOutput = 'table' as const

  async run(): Promise<Instance[]> {
    const result = await getInstances(await this.client())
    const instances = this.settleBatch(result.items)
    this.show(result.items, result.raw, (format) => renderInstances(instances, format, {color: this.color}), 'No instances. Create one with `ukc instance create IMAGE`.')
    return result.items
  }
}
