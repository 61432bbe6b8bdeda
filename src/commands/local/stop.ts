import path from 'node:path'

import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/index.js'

export interface LocalStopResult {
  stopped: boolean
  pid?: number
  dataDir: string
}

export default class LocalStop extends BaseCommand<typeof LocalStop> {
  static override summary = 'Stop the embedded platform, keeping all its state.'
  static override description =
    'Stops every instance gracefully and then the platform daemon. Instances, services, users and tokens are kept: `ukc local start` brings back the instances that were running.'
  static override examples = ['<%= config.bin %> local stop', '<%= config.bin %> local stop --data-dir /tmp/ukc-local']

  static override flags = {
    'data-dir': Flags.string({summary: 'Data dir of the platform (default: the user data dir).', env: 'UKC_LOCAL_DIR'}),
  }

  async run(): Promise<LocalStopResult> {
    const {localDir} = await import('../../local/index.js')
    const dataDir = this.flags['data-dir'] ? path.resolve(this.flags['data-dir']) : localDir(this.config.dataDir)
    const {stopPlatform} = await import('../../local/index.js')
    const info = await stopPlatform(dataDir)
    const result: LocalStopResult = info ? {stopped: true, pid: info.pid, dataDir} : {stopped: false, dataDir}
    if (!this.jsonEnabled()) {
      this.out(info ? `Stopped the local platform (pid ${info.pid}); its state is kept in ${dataDir}` : `No local platform is running in ${dataDir}`)
    }
    return result
  }
}
