import {Flags} from '@oclif/core'

import {ExitCode, METROS, type UkcClient, UkcError, UsageError, baseUrlForMetro, isUnikraftCloudApi} from '../api/index.js'
import {BaseCommand, type Column, type PurgeResult, clientFor, metroRows, parseDuration, probeRows, purgeMetro, renderList, renderTable} from '../cli/index.js'

interface RemovedRow {
  metro: string
  kind: string
  name: string
  uuid: string
}

const COLUMNS: Column<RemovedRow>[] = [
  {header: 'METRO', value: (r) => r.metro},
  {header: 'KIND', value: (r) => r.kind},
  {header: 'NAME', value: (r) => r.name},
  {header: 'UUID', value: (r) => r.uuid},
]

export default class Purge extends BaseCommand<typeof Purge> {
  static override summary = 'Remove everything of yours on a metro: instances, services, volumes and certificates.'
  static override description = `Deletes every instance, then (once they are gone) every service, volume and certificate of the user on the metro — the order in which the API lets each go. On a terminal it asks first; elsewhere it needs --yes. A failure stops the purge unless --force, which goes on past failures (kraft's meaning) and also skips the question.
--all purges every Unikraft Cloud metro whose API answers, with the same token (kraft's -a); the local platform is one metro. Images are not removed (on Unikraft Cloud they live in the registry; see \`image remove\`).`
  static override hiddenAliases = ['p']
  static override examples = ['<%= config.bin %> purge', '<%= config.bin %> purge --yes --metro local', '<%= config.bin %> purge --all --force']
  static override defaultOutput = 'table' as const

  static override flags = {
    all: Flags.boolean({char: 'a', summary: 'Purge every Unikraft Cloud metro that answers, not only the current one.'}),
    force: Flags.boolean({char: 'f', summary: 'Go on past failures (and do not ask).'}),
    yes: Flags.boolean({char: 'y', summary: 'Do not ask for confirmation (required outside a terminal).'}),
    'wait-timeout': Flags.string({default: '2m', summary: 'How long to wait for removed instances to be gone before removing services, a duration.'}),
  }

  async run(): Promise<PurgeResult[]> {
    const {all, force, yes} = this.flags
    const waitTimeoutMs = parseDuration(this.flags['wait-timeout'], {flag: '--wait-timeout', minMs: 1})
    const targets = await this.metros(all)
    if (targets.length === 0) throw new UkcError('no Unikraft Cloud metro answered', {exitCode: ExitCode.Unavailable, code: 'UNAVAILABLE', hint: '`ukc metro list --status` shows why'})
    const names = targets.map((t) => t.metro).join(', ')
    if (!yes && !force && !this.interactive) {
      throw new UsageError(`purge removes every instance, service, volume and certificate on ${names}: pass --yes to confirm`, 'there is no terminal to ask on')
    }
    await this.confirmDestructive(`Remove every instance, service, volume and certificate on ${names}?`, yes || force)
    const results: PurgeResult[] = []
    for (const {metro, client} of targets) {
      results.push(
        await purgeMetro(client, metro, {
          force,
          waitTimeoutMs,
          note: (line) => this.note(line),
          report: (error) => {
            process.stderr.write(`Error: ${error.message}\n`)
            process.exitCode ||= error.exitCode
          },
        }),
      )
    }
    const rows = results.flatMap(removedRows)
    if (rows.length === 0 && (this.format === 'table' || this.format === 'list')) this.note(`Nothing to remove on ${names}.`)
    else this.show(results, JSON.stringify(results), (format) => (format === 'table' ? renderTable(COLUMNS, rows) : renderList(COLUMNS, rows)))
    return results
  }

  /** The current metro; with --all, every Unikraft Cloud metro whose API answers. */
  private async metros(all: boolean): Promise<Array<{metro: string; client: UkcClient}>> {
    const target = await this.resolveTarget()
    if (!all) return [{metro: target.metro, client: await this.client()}]
    if (!isUnikraftCloudApi(target.baseUrl)) {
      this.note(`--all: ${target.metro} is not a Unikraft Cloud metro; purging it alone`)
      return [{metro: target.metro, client: await this.client()}]
    }
    const cloud = metroRows(undefined).filter((row) => METROS.some((m) => m.code === row.code))
    const online = (await probeRows(cloud, {})).filter((row) => row.status === 'online')
    for (const row of cloud.filter((r) => !online.some((o) => o.code === r.code))) this.note(`skipping offline metro ${row.code}`)
    return online.map((row) => ({metro: row.code, client: clientFor({...target, metro: row.code, baseUrl: baseUrlForMetro(row.code)})}))
  }
}

function removedRows(result: PurgeResult): RemovedRow[] {
  const kinds: Array<[string, Array<{uuid?: string; name?: string}>]> = [
    ['instance', result.instances],
    ['service', result.services],
    ['volume', result.volumes],
    ['certificate', result.certificates],
  ]
  return kinds.flatMap(([kind, items]) => items.map((i) => ({metro: result.metro, kind, name: i.name ?? '', uuid: i.uuid ?? ''})))
}
