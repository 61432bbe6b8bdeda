import {Args, Flags} from '@oclif/core'

import {getServices} from '../../api/index.js'
import {BaseCommand, type ConsoleOutput, SERVICE_TOPICS, commandAliases} from '../../cli/index.js'

export default class ServiceLogs extends BaseCommand<typeof ServiceLogs> {
  static override summary = 'Print the console output of every instance of one or more services.'
  static override description = `Reads the consoles of all instances attached to the services when the command starts, each line prefixed with the instance name (--no-prefix leaves it out). Without --follow it prints what exists and exits; with --follow it keeps printing until every instance has stopped, or until Ctrl-C (exit code 0).
Instances added to a service later (by autoscale, for example) are not picked up; run it again.`
  static override hiddenAliases = commandAliases(SERVICE_TOPICS, ['logs', 'log'])
  static override examples = [
    '<%= config.bin %> service logs my-service',
    '<%= config.bin %> service logs my-service --tail 20',
    '<%= config.bin %> service logs my-service --follow --tail 10',
    '<%= config.bin %> service logs my-service other-service --no-prefix',
  ]
  static override strict = false
  static override args = {service: Args.string({description: 'Name or UUID of a service (several may be given).', required: true})}

  static override flags = {
    follow: Flags.boolean({char: 'f', summary: 'Keep printing new output until the instances stop.'}),
    tail: Flags.integer({char: 'n', min: -1, default: -1, summary: 'Print only the last N lines of each instance first (-1: everything).'}),
    prefix: Flags.boolean({char: 'p', allowNo: true, default: true, summary: 'Prefix each line with the instance name (--no-prefix: do not).'}),
  }

  async run(): Promise<ConsoleOutput[]> {
    const client = await this.client()
    const services = this.settleBatch((await getServices(client, [...new Set(this.positional)])).items)
    const uuids = [...new Set(services.flatMap((s) => (s.instances ?? []).map((i) => i.uuid)))]
    if (uuids.length === 0) {
      if (services.length > 0) this.note(`${services.map((s) => s.name).join(', ')}: no instances`)
      return []
    }
    return this.showConsoles(client, uuids, {tail: this.flags.tail, prefix: this.flags.prefix, follow: this.flags.follow})
  }
}
