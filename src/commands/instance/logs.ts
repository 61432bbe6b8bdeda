import {Args, Flags} from '@oclif/core'

import {BaseCommand, type ConsoleOutput, INSTANCE_TOPICS, commandAliases} from '../../cli/index.js'

export type InstanceLogResult = ConsoleOutput

export default class InstanceLogs extends BaseCommand<typeof InstanceLogs> {
  static override summary = 'Print the console output of one or more instances.'
  static override description = `Prints what the instances have written so far and exits. With --follow it keeps printing new output until every instance has stopped, or until Ctrl-C (which ends it with exit code 0).
With several instances each line is prefixed with the instance name.`
  static override hiddenAliases = commandAliases(INSTANCE_TOPICS, ['logs', 'log'])
  static override examples = [
    '<%= config.bin %> instance logs nginx-1a747',
    '<%= config.bin %> instance logs nginx-1a747 --tail 20',
    '<%= config.bin %> instance logs nginx-1a747 redis-9f2c1 --follow --no-prefix',
  ]
  static override strict = false
  static override args = {instance: Args.string({description: 'Name or UUID of an instance (several may be given).', required: true})}

  static override flags = {
    follow: Flags.boolean({char: 'f', summary: 'Keep printing new output until the instances stop.'}),
    tail: Flags.integer({char: 'n', min: -1, default: -1, summary: 'Print only the last N lines first (-1: everything).'}),
    prefix: Flags.boolean({char: 'p', allowNo: true, summary: 'Prefix each line with the instance name (default when several instances are given).'}),
  }

  async run(): Promise<InstanceLogResult[]> {
    const ids = [...new Set(this.positional)]
    const prefix = this.flags.prefix ?? ids.length > 1
    return this.showConsoles(await this.client(), ids, {tail: this.flags.tail, prefix, follow: this.flags.follow})
  }
}
