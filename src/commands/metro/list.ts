import {Flags} from '@oclif/core'

import {localDir, readPlatformInfo} from '../../local/index.js'
import {PROBE_TIMEOUT_MS} from '../../api/index.js'
import {BaseCommand, type MetroRow, metroRows, metroStatus, renderMetros} from '../../cli/index.js'

export default class MetroList extends BaseCommand<typeof MetroList> {
  static override summary = 'List the metros ukc knows.'
  static override description = `Lists the Unikraft Cloud metros and their API URLs (the legacy fra0-style metros are kraft.cloud's), plus "local", the embedded platform. Any full API URL is also accepted as --metro.
With --status, every metro's API is asked in parallel, without a token, whether it is up (it must answer 401, as kraft checks): online metros come first, nearest first, with the time the answer took; a metro that does not answer within ${PROBE_TIMEOUT_MS / 1000}s is offline. "local" is online when the embedded platform runs.`
  static override hiddenAliases = ['metro:ls', 'metros:list', 'metros:ls', 'm:list', 'm:ls']
  static override examples = ['<%= config.bin %> metro list', '<%= config.bin %> metro list --status', '<%= config.bin %> metro list --status --json']
  static override defaultOutput = 'table' as const
  static override flags = {
    status: Flags.boolean({char: 's', summary: 'Also show whether each metro\'s API is reachable, and how fast it answers.'}),
  }

  async run(): Promise<MetroRow[]> {
    const dir = localDir(this.config.dataDir)
    const rows = this.flags.status ? await metroStatus({localDir: dir}) : metroRows(readPlatformInfo(dir))
    this.show(rows, JSON.stringify(rows), (format) => renderMetros(rows, format, {color: this.color}))
    return rows
  }
}
