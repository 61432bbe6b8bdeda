import {Args, Flags} from '@oclif/core'

import {type Instance, type UkcClient, deleteInstances, getServices, waitInstancesGone} from '../../api/index.js'
import {BaseCommand, SERVICE_TOPICS, Spinner, commandAliases, parseDuration, renderTransitions} from '../../cli/index.js'

export default class ServiceDrain extends BaseCommand<typeof ServiceDrain> {
  static override summary = 'Remove every instance of one or more services.'
  static override description = 'Deletes all instances attached to the services and waits until they are gone; the services themselves stay.'
  static override hiddenAliases = commandAliases(SERVICE_TOPICS, ['drain'])
  static override examples = ['<%= config.bin %> service drain my-service', '<%= config.bin %> service drain my-service other-service --timeout 2m --yes']
  static override strict = false
  static override args = {service: Args.string({description: 'Name or UUID of a service (several may be given).', required: true})}

  static override flags = {
    timeout: Flags.string({default: '60s', summary: 'How long to wait for the instances to be gone, a duration such as 2m.'}),
    yes: Flags.boolean({char: 'y', summary: 'Do not ask for confirmation.'}),
  }

  async run(): Promise<Instance[]> {
    const timeoutMs = parseDuration(this.flags.timeout, {flag: '--timeout', minMs: 1})
    const client = await this.client()
    const services = this.settleBatch((await getServices(client, this.positional)).items)
    const uuids = [...new Set(services.flatMap((s) => (s.instances ?? []).map((i) => i.uuid)))]
    if (uuids.length === 0) {
      this.note('no instances to drain')
      return []
    }
    await this.confirmDestructive(`Remove ${uuids.length} instance(s) of ${services.map((s) => s.name).join(', ')}?`, this.flags.yes)
    this.note(`removing ${uuids.length} instance(s)`)
    const result = await deleteInstances(client, uuids)
    const removed = this.settleBatch(result.items)
    await this.waitGone(client, removed.map((i) => i.uuid), timeoutMs)
    this.show(result.items, result.raw, (format) => renderTransitions(removed, format, {color: this.color}))
    return result.items
  }

  private async waitGone(client: UkcClient, uuids: string[], timeoutMs: number): Promise<void> {
    if (uuids.length === 0) return
    const spinner = new Spinner(this.jsonEnabled())
    spinner.start(`waiting for ${uuids.length} instance(s) to be removed`)
    try {
      await waitInstancesGone(client, uuids, timeoutMs)
    } finally {
      spinner.stop()
    }
  }
}
