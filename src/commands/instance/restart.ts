import {Args, Flags} from '@oclif/core'

import {type Instance, UsageError, getInstances, isFailed, startInstances, stopInstances, waitInstances} from '../../api/index.js'
import {BaseCommand, INSTANCE_TOPICS, commandAliases, parseDuration, renderTransitions} from '../../cli/index.js'

/** How long to wait for a stopping instance to reach `stopped` before starting it again. */
const STOPPED_TIMEOUT_MS = 60_000

export default class InstanceRestart extends BaseCommand<typeof InstanceRestart> {
  static override summary = 'Restart one or more instances.'
  static override description = 'Stops the instances, waits until they are stopped, and starts them again. --wait waits up to that long for each to run again.'
  static override hiddenAliases = commandAliases(INSTANCE_TOPICS, ['restart', 'rr'])
  static override examples = [
    '<%= config.bin %> instance restart nginx-1a747',
    '<%= config.bin %> instance restart nginx-1a747 --force --wait 10s',
    '<%= config.bin %> instance restart --all --yes',
  ]
  static override strict = false
  static override args = {instance: Args.string({description: 'Name or UUID of an instance (several may be given).'})}

  static override flags = {
    all: Flags.boolean({char: 'a', summary: 'Restart every instance.'}),
    force: Flags.boolean({char: 'f', summary: 'Stop immediately, without draining.'}),
    wait: Flags.string({char: 'w', summary: 'Wait up to this long for each instance to run again, a duration such as 10s.'}),
    yes: Flags.boolean({char: 'y', summary: 'Do not ask for confirmation with --all.'}),
  }

  async run(): Promise<Instance[]> {
    const client = await this.client()
    if (this.flags.all && this.positional.length > 0) throw new UsageError('either specify instance names or UUIDs, or use the --all flag, not both')
    if (!this.flags.all && this.positional.length === 0) throw new UsageError('either specify an instance name or UUID, or use the --all flag')
    const waitMs = this.flags.wait === undefined ? undefined : parseDuration(this.flags.wait, {flag: '--wait', minMs: 1})
    if (this.flags.all) await this.confirmDestructive('Restart every instance?', this.flags.yes)
    const ids = this.flags.all ? (await getInstances(client)).items.map((i) => i.uuid) : this.positional
    if (ids.length === 0) {
      this.note('no instances to restart')
      return []
    }
    this.note(`restarting ${ids.length} instance(s)`)
    const stop = await stopInstances(client, ids, {force: this.flags.force})
    const stopFailures = stop.items.filter(isFailed)
    const stopped = stop.items.filter((i) => !isFailed(i)).map((i) => i.uuid)
    let started: Instance[] = []
    let raw = stop.raw
    if (stopped.length > 0) {
      await waitInstances(client, stopped, 'stopped', STOPPED_TIMEOUT_MS)
      const start = await startInstances(client, stopped, waitMs)
      started = start.items
      raw = start.raw
    }
    const items = [...started, ...stopFailures]
    const ok = this.settleBatch(items)
    this.show(items, raw, (format) => renderTransitions(ok, format, {color: this.color}))
    return items
  }
}
