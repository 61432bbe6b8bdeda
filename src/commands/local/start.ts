import path from 'node:path'

import {Flags} from '@oclif/core'

import {MAX_PORT, UsageError} from '../../api/index.js'
import {BaseCommand} from '../../cli/index.js'
import type {PlatformInfo} from '../../local/index.js'

export interface LocalStartResult {
  url: string
  metro: 'local'
  ca: string
  pid: number
  users: Array<{name: string; token: string}>
  gateway: PlatformInfo['gateway']
  dataDir: string
  /** False when a platform was already running in the data dir (start is idempotent). */
  started: boolean
}

export default class LocalStart extends BaseCommand<typeof LocalStart> {
  static override summary = 'Start the embedded Unikraft Cloud platform on this machine.'
  static override description =
    'Starts the local platform as a background daemon and returns once its API answers. It prints the API URL, the CA certificate that signs the API and the gateway, and one token per user. Running it again reports the platform that is already running. Port 0 picks a free port.'
  static override examples = [
    '<%= config.bin %> local start',
    '<%= config.bin %> local start --user alice --user bob --json',
    '<%= config.bin %> local start --data-dir /tmp/ukc-local --api-port 0 --gateway-port 0',
    '<%= config.bin %> local start --foreground',
  ]

  static override flags = {
    'data-dir': Flags.string({summary: 'Where the platform keeps its state (default: the user data dir).', env: 'UKC_LOCAL_DIR'}),
    'api-port': Flags.integer({summary: 'Port of the API on 127.0.0.1 (default 7780; 0 = a free port).', min: 0, max: MAX_PORT}),
    'gateway-port': Flags.integer({summary: 'Port where the gateway serves public HTTPS (443) (default 7443; 0 = a free port).', min: 0, max: MAX_PORT}),
    user: Flags.string({summary: 'A local user to have (repeatable; default one user named `local`).', multiple: true}),
    foreground: Flags.boolean({summary: 'Run the platform in this process until Ctrl-C instead of as a daemon.'}),
  }

  async run(): Promise<LocalStartResult | undefined> {
    const flags = this.flags
    const {USER_NAME, instanceAccessProblem} = await import('../../platform/index.js')
    for (const user of flags.user ?? []) {
      if (!USER_NAME.test(user)) throw new UsageError(`invalid user name "${user}"`, 'use lower-case letters, digits and dashes (at most 32 characters)')
    }
    const {apiAnswers, ensurePlatform, localDir, readPlatformInfo} = await import('../../local/index.js')
    const dataDir = flags['data-dir'] ? path.resolve(flags['data-dir']) : localDir(this.config.dataDir)
    // Said here, in one line, before anything is spawned or created (the daemon checks again).
    const problem = instanceAccessProblem(dataDir, (flags.user ?? ['local']).map((name) => ({name})))
    if (problem) {
      // The line reads "<what is wrong>: <what to do>"; the second half is the hint.
      const cut = problem.lastIndexOf(': ')
      throw new UsageError(problem.slice(0, cut), problem.slice(cut + 2))
    }
    if (flags.foreground) return this.foreground(dataDir)
    const before = readPlatformInfo(dataDir)
    const wasRunning = before !== undefined && (await apiAnswers(before))
    const info = await ensurePlatform({dataDir, apiPort: flags['api-port'], gatewayPort: flags['gateway-port'], users: flags.user})
    const result = this.resultOf(info, !wasRunning)
    this.warnLimits(info)
    if (wasRunning) {
      const missing = (flags.user ?? []).filter((u) => !info.users.some((known) => known.name === u))
      if (missing.length > 0) this.warn(`the running platform has no user ${missing.join(', ')}; stop it and start again to add users`)
    }
    if (!this.jsonEnabled()) this.out(this.describe(result))
    return result
  }

  /** What the platform cannot enforce between its users (not root, no nftables), one line each (unwrapped). */
  private warnLimits(info: PlatformInfo): void {
    for (const limit of info.limits ?? []) this.note(`Warning: ${limit}`)
  }

  private resultOf(info: PlatformInfo, started: boolean): LocalStartResult {
    return {url: info.url, metro: 'local', ca: info.ca, pid: info.pid, users: info.users, gateway: info.gateway, dataDir: info.dataDir, started}
  }

  private describe(result: LocalStartResult): string {
    const https = result.gateway.ports['443']
    const width = Math.max(...result.users.map((u) => u.name.length))
    return [
      `${result.started ? 'Started' : 'Already running:'} the local platform (pid ${result.pid}, metro local)`,
      `  API:      ${result.url}`,
      `  CA:       ${result.ca}`,
      `  Gateway:  https://<service>.local.localhost:${https}${result.gateway.ports['80'] === undefined ? '' : ` (http on ${result.gateway.ports['80']})`}`,
      `  Data dir: ${result.dataDir}`,
      '  Users (UKC_TOKEN):',
      ...result.users.map((u) => `    ${u.name.padEnd(width)}  ${u.token}`),
    ].join('\n')
  }

  /** Runs the platform in this process until Ctrl-C/SIGTERM (the one long-running policy: exit 0). */
  private async foreground(dataDir: string): Promise<undefined> {
    const {runPlatform} = await import('../../platform/index.js')
    const flags = this.flags
    await this.untilStopped(async ({signal}) => {
      const platform = await runPlatform({
        dataDir,
        apiPort: flags['api-port'],
        gatewayPort: flags['gateway-port'],
        users: flags.user,
        log: (line) => process.stderr.write(`${new Date().toISOString()} ${line}
`),
      })
      const result = this.resultOf(platform.info, true)
      this.warnLimits(platform.info)
      this.ready(result, `${this.describe(result)}
Press Ctrl-C to stop.`)
      if (!signal.aborted) await new Promise((resolve) => signal.addEventListener('abort', resolve, {once: true}))
      await platform.close()
    })
    return undefined
  }
}
