import fs from 'node:fs'
import path from 'node:path'
import {setTimeout as delay} from 'node:timers/promises'

import {Flags} from '@oclif/core'

import {NotFoundError} from '../../api/index.js'
import {BaseCommand} from '../../cli/index.js'

export interface LocalLogsResult {
  file: string
  lines: string[]
}

export default class LocalLogs extends BaseCommand<typeof LocalLogs> {
  static override summary = 'Print the embedded platform daemon log.'
  static override description = "Prints the daemon's own log (<data dir>/platform.log). Instance consoles are read with `ukc instance logs`."
  static override examples = ['<%= config.bin %> local logs', '<%= config.bin %> local logs --tail 50 --follow']

  static override flags = {
    'data-dir': Flags.string({summary: 'Data dir of the platform (default: the user data dir).', env: 'UKC_LOCAL_DIR'}),
    tail: Flags.integer({char: 'n', summary: 'Print only the last N lines.', min: 0}),
    follow: Flags.boolean({char: 'f', summary: 'Keep printing new lines until Ctrl-C.'}),
  }

  async run(): Promise<LocalLogsResult> {
    const {localDir} = await import('../../local/index.js')
    const {LOG_FILE} = await import('../../local/index.js')
    const dataDir = this.flags['data-dir'] ? path.resolve(this.flags['data-dir']) : localDir(this.config.dataDir)
    const file = path.join(dataDir, LOG_FILE)
    if (!fs.existsSync(file)) throw new NotFoundError(`no platform log in ${dataDir}`, 'start the platform with `ukc local start`')
    const text = fs.readFileSync(file)
    let lines = text.toString('utf8').split('\n')
    if (lines.at(-1) === '') lines.pop()
    if (this.flags.tail !== undefined) lines = this.flags.tail === 0 ? [] : lines.slice(-this.flags.tail)
    if (!this.jsonEnabled() && lines.length > 0) this.out(lines.join('\n'))
    if (this.flags.follow && !this.jsonEnabled()) await this.untilStopped(({signal}) => this.follow(file, text.length, signal))
    return {file, lines}
  }

  /** Polls the file for appended bytes until Ctrl-C (the daemon appends; it never rewrites). */
  private async follow(file: string, from: number, signal: AbortSignal): Promise<void> {
    let offset = from
    while (!signal.aborted) {
      const size = fs.existsSync(file) ? fs.statSync(file).size : 0
      if (size < offset) offset = 0 // wiped by `local reset`
      if (size > offset) {
        const handle = fs.openSync(file, 'r')
        const chunk = Buffer.alloc(size - offset)
        fs.readSync(handle, chunk, 0, chunk.length, offset)
        fs.closeSync(handle)
        process.stdout.write(chunk)
        offset = size
      }
      await delay(250, undefined, {signal}).catch(() => undefined)
    }
  }
}
