import {setTimeout as delay} from 'node:timers/promises'

import {Args, Flags} from '@oclif/core'

import {type ServiceGroup, type UkcClient, ExitCode, UkcError, UsageError, deleteServices, getServices, isFailed} from '../../api/index.js'
import {BaseCommand, SERVICE_TOPICS, Spinner, commandAliases, parseDuration, renderServices} from '../../cli/index.js'

const POLL_MS = 500

export default class ServiceRemove extends BaseCommand<typeof ServiceRemove> {
  static override summary = 'Remove one or more services.'
  static override description = 'Deletes services by name or UUID, or every service with --all. The API refuses to delete a service that still has instances; --wait-empty first waits until its instances are gone.'
  static override hiddenAliases = commandAliases(SERVICE_TOPICS, ['remove', 'rm', 'delete', 'del'])
  static override examples = [
    '<%= config.bin %> service remove my-service',
    '<%= config.bin %> service remove my-service --wait-empty',
    '<%= config.bin %> service remove --all --yes',
  ]
  static override strict = false
  static override args = {service: Args.string({description: 'Name or UUID of a service (several may be given).'})}

  static override flags = {
    all: Flags.boolean({char: 'a', summary: 'Remove every service.'}),
    'wait-empty': Flags.boolean({summary: 'Wait until the services have no instances before removing them.'}),
    'wait-timeout': Flags.string({default: '5m', summary: 'How long --wait-empty waits, a duration such as 30s.'}),
    yes: Flags.boolean({char: 'y', summary: 'Do not ask for confirmation with --all.'}),
  }

  async run(): Promise<ServiceGroup[]> {
    const {all, yes} = this.flags
    if (all && this.positional.length > 0) throw new UsageError('either specify service names or UUIDs, or use the --all flag, not both')
    if (!all && this.positional.length === 0) throw new UsageError('either specify a service name or UUID, or use the --all flag')
    const client = await this.client()
    let ids = this.positional
    if (all) {
      await this.confirmDestructive('Remove every service?', yes)
      ids = this.settleBatch((await getServices(client)).items).map((s) => s.name || s.uuid)
    }
    if (ids.length === 0) {
      this.note('no services to remove')
      return []
    }
    if (this.flags['wait-empty']) await this.waitEmpty(client, ids, parseDuration(this.flags['wait-timeout'], {flag: '--wait-timeout', minMs: 1}))
    this.note(`removing ${ids.length} service(s)`)
    const result = await deleteServices(client, ids)
    const removed = this.settleBatch(result.items)
    this.show(result.items, result.raw, (format) => renderServices(removed, format))
    return result.items
  }

  /** Polls until none of the services has instances; a service that is gone counts as empty. */
  private async waitEmpty(client: UkcClient, ids: string[], timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    const spinner = new Spinner(this.jsonEnabled())
    spinner.start(`waiting for ${ids.length} service(s) to have no instances`)
    try {
      for (;;) {
        const {items} = await getServices(client, ids)
        if (items.every((s) => isFailed(s) || (s.instances ?? []).length === 0)) return
        if (Date.now() > deadline) {
          throw new UkcError(`services still have instances after ${timeoutMs} ms`, {exitCode: ExitCode.Unavailable, code: 'TIMEOUT', hint: 'remove their instances, or use `service drain`'})
        }
        await delay(POLL_MS)
      }
    } finally {
      spinner.stop()
    }
  }
}
