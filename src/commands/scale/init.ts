import {Args, Flags} from '@oclif/core'

import {type AutoscaleConfig, type CreateAutoscaleRequest, type UkcClient, UsageError, allOrThrow, createAutoscale, firstOrThrow, getAutoscale, getServices, refOf} from '../../api/index.js'
import {BaseCommand, SCALE_TOPICS, commandAliases, parseDuration, prompts, renderAutoscale} from '../../cli/index.js'

export default class ScaleInit extends BaseCommand<typeof ScaleInit> {
  static override summary = 'Set up autoscale for a service.'
  static override description = `Creates the autoscale configuration of SERVICE: the master instance is cloned up to --max-size instances and back down to --min-size by the service's policies (add them with \`scale add\`).
Without --master, the service's only instance is the master; with several, ukc asks on a terminal and fails otherwise.`
  static override hiddenAliases = commandAliases(SCALE_TOPICS, ['init', 'initialise', 'initialize', 'i'])
  static override examples = [
    '<%= config.bin %> scale init my-service --master my-instance --min-size 1 --max-size 10 --cooldown-time 1s --warmup-time 1s',
    '<%= config.bin %> scale init my-service --master my-instance --max-size 4 --json',
  ]
  static override args = {service: Args.string({description: 'Name or UUID of the service.', required: true})}
  static override defaultOutput = 'list' as const

  static override flags = {
    master: Flags.string({char: 'i', summary: 'Name or UUID of the instance autoscale clones (the master).'}),
    'min-size': Flags.integer({char: 'm', min: 0, summary: 'Fewest instances autoscale keeps (default: the API\'s, 1).'}),
    'max-size': Flags.integer({char: 'M', min: 1, default: 10, summary: 'Most instances autoscale creates.'}),
    'cooldown-time': Flags.string({char: 'c', default: '1s', summary: 'Time after a scale-down before the next decision, a duration of at least 10ms.'}),
    'warmup-time': Flags.string({char: 'w', default: '1s', summary: 'Time a new instance gets before it counts, a duration of at least 10ms.'}),
  }

  async run(): Promise<AutoscaleConfig[]> {
    const {flags} = this
    const minSize = flags['min-size']
    if (minSize !== undefined && minSize > flags['max-size']) throw new UsageError(`--min-size (${minSize}) must not be greater than --max-size (${flags['max-size']})`)
    const client = await this.client()
    const request: CreateAutoscaleRequest = {
      ...refOf(this.args.service),
      ...(minSize === undefined ? {} : {min_size: minSize}),
      max_size: flags['max-size'],
      warmup_time_ms: parseDuration(flags['warmup-time'], {flag: '--warmup-time', minMs: 10}),
      cooldown_time_ms: parseDuration(flags['cooldown-time'], {flag: '--cooldown-time', minMs: 10}),
      master: refOf(flags.master ?? (await this.chooseMaster(client))),
    }
    const created = await createAutoscale(client, request)
    allOrThrow(created)
    const configs = allOrThrow(await getAutoscale(client, [this.args.service]))
    this.show(configs, created.raw, (format) => renderAutoscale(configs, format))
    return configs
  }

  /** kraft's choice when --master is missing: the only instance, else ask (on a terminal). */
  private async chooseMaster(client: UkcClient): Promise<string> {
    const service = firstOrThrow(await getServices(client, [this.args.service]))
    const instances = service.instances ?? []
    if (instances.length === 0) throw new UsageError(`service ${service.name} has no instances to use as master`, 'create one with `ukc instance create --service SERVICE IMAGE`')
    if (instances.length === 1) {
      const only = instances[0].name || instances[0].uuid
      this.note(`using ${only}, the only instance of ${service.name}, as master`)
      return only
    }
    if (!this.interactive) throw new UsageError(`service ${service.name} has ${instances.length} instances: specify the master instance via --master`, `e.g. --master ${instances[0].name}`)
    return prompts.select('select master instance', instances.map((i) => i.name || i.uuid))
  }
}
