import fs from 'node:fs'
import path from 'node:path'

import {Flags} from '@oclif/core'

import {BaseCommand, formatAge} from '../../cli/index.js'

export interface LocalStatusResult {
  running: boolean
  dataDir: string
  pid?: number
  url?: string
  ca?: string
  startedAt?: string
  uptimeMs?: number
  /** False when the process is there but its API does not answer. */
  healthy?: boolean
  gateway?: Record<string, number>
  users?: string[]
  instances: {total: number; running: number; standby: number; stopped: number}
  services: number
}

interface StoredCounts {
  instances?: Array<{state?: string}>
  services?: unknown[]
}

/** Counts from the daemon's state file (written atomically, so always a consistent snapshot). */
function counts(dataDir: string): Pick<LocalStatusResult, 'instances' | 'services'> {
  let state: StoredCounts = {}
  try {
    state = JSON.parse(fs.readFileSync(path.join(dataDir, 'state.json'), 'utf8')) as StoredCounts
  } catch {
    // no state yet
  }
  const instances = state.instances ?? []
  const count = (s: string) => instances.filter((i) => i.state === s).length
  return {
    instances: {total: instances.length, running: count('running'), standby: count('standby'), stopped: count('stopped')},
    services: state.services?.length ?? 0,
  }
}

export default class LocalStatus extends BaseCommand<typeof LocalStatus> {
  static override summary = 'Show whether the embedded platform runs, where, and what it holds.'
  static override description = 'Prints the daemon pid, API URL, uptime, gateway ports and the number of instances and services (of all users).'
  static override examples = ['<%= config.bin %> local status', '<%= config.bin %> local status --json']

  static override flags = {
    'data-dir': Flags.string({summary: 'Data dir of the platform (default: the user data dir).', env: 'UKC_LOCAL_DIR'}),
  }

  async run(): Promise<LocalStatusResult> {
    const {localDir, readPlatformInfo} = await import('../../local/index.js')
    const dataDir = this.flags['data-dir'] ? path.resolve(this.flags['data-dir']) : localDir(this.config.dataDir)
    const info = readPlatformInfo(dataDir)
    let result: LocalStatusResult
    if (info) {
      const {apiAnswers} = await import('../../local/index.js')
      const uptimeMs = Math.max(0, Date.now() - Date.parse(info.startedAt))
      result = {
        running: true,
        dataDir,
        pid: info.pid,
        url: info.url,
        ca: info.ca,
        startedAt: info.startedAt,
        uptimeMs,
        healthy: await apiAnswers(info),
        gateway: info.gateway.ports,
        users: info.users.map((u) => u.name),
        ...counts(dataDir),
      }
    } else {
      result = {running: false, dataDir, ...counts(dataDir)}
    }
    if (!this.jsonEnabled()) this.out(this.describe(result))
    return result
  }

  private describe(r: LocalStatusResult): string {
    const holdings = `${r.instances.total} instance(s) (${r.instances.running} running, ${r.instances.standby} standby, ${r.instances.stopped} stopped), ${r.services} service(s)`
    if (!r.running) return [`not running (data dir ${r.dataDir})`, `  state:    ${holdings}`].join('\n')
    return [
      `running${r.healthy ? '' : ' but the API does not answer'} (pid ${r.pid})`,
      `  API:      ${r.url}`,
      `  uptime:   ${formatAge(r.uptimeMs ?? 0)}`,
      `  gateway:  ${Object.entries(r.gateway ?? {}).map(([pub, local]) => `${pub}→${local}`).join(' ')}`,
      `  users:    ${(r.users ?? []).join(', ')}`,
      `  state:    ${holdings}`,
      `  data dir: ${r.dataDir}`,
    ].join('\n')
  }
}
