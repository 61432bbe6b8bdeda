import {type Quotas, displayUser, firstOrThrow, getQuotas} from '../api/index.js'
import {BaseCommand, type Column, formatMemory, renderList, renderTable} from '../cli/index.js'

const of = (used: number | undefined, limit: number | undefined) => `${used ?? 0}/${limit ?? '?'}`
const range = (min: number | undefined, max: number | undefined, show: (n: number | undefined) => string = String) => `${show(min)} - ${show(max)}`
const volumesEnabled = (q: Quotas) => (q.limits?.max_volume_mb ?? 0) > 0

const volumeColumns: Column<Quotas>[] = [
  {header: 'ACTIVE VOLUMES', value: (q) => of(q.used?.volumes, q.hard?.volumes)},
  {header: 'USED VOLUME SPACE', value: (q) => `${formatMemory(q.used?.total_volume_mb ?? 0)}/${formatMemory(q.hard?.total_volume_mb)}`},
  {header: 'VOLUME SIZE LIMITS', value: (q) => range(q.limits?.min_volume_mb, q.limits?.max_volume_mb, formatMemory)},
]

export default class QuotasCommand extends BaseCommand<typeof QuotasCommand> {
  static override summary = 'Show your quotas and how much of them is used.'
  static override description = 'Prints the account\'s limits (instances, vCPUs, memory, services, volumes and volume space, autoscale) next to what is in use now.'
  static override hiddenAliases = ['quota', 'q']
  static override examples = ['<%= config.bin %> quotas', '<%= config.bin %> quotas --json']
  static override defaultOutput = 'list' as const

  async run(): Promise<Quotas[]> {
    const client = await this.client()
    const result = await getQuotas(client)
    const quotas = firstOrThrow(result)
    const user = displayUser(client.user)
    const columns: Column<Quotas>[] = [
      {header: 'USER UUID', value: (q) => q.uuid ?? '', table: false},
      {header: 'USER NAME', value: () => user},
      {header: 'ACTIVE INSTANCES', value: (q) => of(q.used?.live_instances, q.hard?.instances)},
      {header: 'TOTAL INSTANCES', value: (q) => of(q.used?.instances, q.hard?.instances)},
      {header: 'ACTIVE VCPUS', value: (q) => of(q.used?.live_vcpus, q.hard?.live_vcpus)},
      {header: 'ACTIVE USED MEMORY', value: (q) => `${formatMemory(q.used?.live_memory_mb ?? 0)}/${formatMemory(q.hard?.live_memory_mb)}`},
      {header: 'MEMORY SIZE LIMITS', value: (q) => range(q.limits?.min_memory_mb, q.limits?.max_memory_mb, formatMemory)},
      {header: 'EXPOSED SERVICES', value: (q) => of(q.used?.services, q.hard?.services)},
      {header: 'SERVICES', value: (q) => of(q.used?.service_groups, q.hard?.service_groups)},
      // As kraft: volumes are enabled when the account may have any volume space at all.
      {header: 'VOLUMES', value: (q) => (volumesEnabled(q) ? 'enabled' : 'disabled')},
      ...(volumesEnabled(quotas) ? volumeColumns : []),
      {
        header: 'AUTOSCALE',
        value: (q) => (q.limits?.max_autoscale_size && q.limits.max_autoscale_size > 1 ? range(q.limits.min_autoscale_size, q.limits.max_autoscale_size) : 'disabled'),
      },
    ]
    this.show(result.items, result.raw, (format) => (format === 'table' ? renderTable(columns, [quotas]) : renderList(columns, [quotas])))
    return result.items
  }
}
