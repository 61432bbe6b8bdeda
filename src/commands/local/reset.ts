import fs from 'node:fs'
import path from 'node:path'

import {Flags} from '@oclif/core'

import {UsageError} from '../../api/index.js'
import {BaseCommand} from '../../cli/index.js'

/** Files that mark a directory as a platform data dir: reset refuses to wipe anything else. */
const MARKERS = ['state.json', 'platform.json', 'ca.pem', 'daemon.lock', 'platform.log']

export interface LocalResetResult {
  dataDir: string
  stoppedPid?: number
  wiped: boolean
}

export default class LocalReset extends BaseCommand<typeof LocalReset> {
  static override summary = 'Stop the embedded platform and wipe all its state.'
  static override description =
    'Stops the platform and deletes its data dir: instances, services, users and their tokens, logs and the CA. The next start begins from nothing (new tokens, a new CA). Asks first unless --yes.'
  static override examples = ['<%= config.bin %> local reset', '<%= config.bin %> local reset --yes --data-dir /tmp/ukc-local']

  static override flags = {
    'data-dir': Flags.string({summary: 'Data dir of the platform (default: the user data dir).', env: 'UKC_LOCAL_DIR'}),
    yes: Flags.boolean({char: 'y', summary: 'Do not ask for confirmation.'}),
  }

  async run(): Promise<LocalResetResult> {
    const {localDir} = await import('../../local/index.js')
    const dataDir = this.flags['data-dir'] ? path.resolve(this.flags['data-dir']) : localDir(this.config.dataDir)
    if (!fs.existsSync(dataDir)) {
      if (!this.jsonEnabled()) this.out(`Nothing to reset in ${dataDir}`)
      return {dataDir, wiped: false}
    }
    if (!MARKERS.some((m) => fs.existsSync(path.join(dataDir, m)))) {
      throw new UsageError(`${dataDir} does not look like a local platform data dir; not wiping it`)
    }
    // Wiping is destructive: outside a terminal it needs --yes.
    if (!this.flags.yes && !this.interactive) throw new UsageError(`refusing to wipe ${dataDir} without confirmation`, 'pass --yes')
    await this.confirmDestructive(`Stop the local platform and delete everything in ${dataDir}?`, this.flags.yes)
    const {stopPlatform} = await import('../../local/index.js')
    const info = await stopPlatform(dataDir)
    // A daemon killed with -9 leaves its volumes mounted below the data dir: unmounted first.
    const {wipeDataDir} = await import('../../platform/index.js')
    await wipeDataDir(dataDir)
    if (!this.jsonEnabled()) this.out(`${info ? `Stopped the local platform (pid ${info.pid}) and wiped` : 'Wiped'} ${dataDir}`)
    return {dataDir, ...(info ? {stoppedPid: info.pid} : {}), wiped: true}
  }
}
