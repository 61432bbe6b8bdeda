// Drives the real `ukc` binary (bin/run.js) against a platform in a temp dir, as a user would.
import {execFile, spawnSync} from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import os from 'node:os'
import path from 'node:path'
import {setTimeout as delay} from 'node:timers/promises'
import {fileURLToPath} from 'node:url'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const BIN = path.join(ROOT, 'bin', 'run.js')

function newestMtime(dir: string): number {
  let newest = 0
  for (const entry of fs.readdirSync(dir, {withFileTypes: true})) {
    const full = path.join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : fs.statSync(full).mtimeMs)
  }
  return newest
}

function isStale(): boolean {
  const manifest = path.join(ROOT, 'oclif.manifest.json')
  const built = fs.existsSync(manifest) && fs.existsSync(path.join(ROOT, 'dist', 'platform', 'main.js')) ? fs.statSync(manifest).mtimeMs : 0
  return built < newestMtime(path.join(ROOT, 'src'))
}

/**
 * bin/run.js runs dist: compile when dist is missing or older than src (without wiping dist). Runs
 * of this suite side by side build one at a time (a lock dir in the temp dir).
 */
export async function buildIfStale(): Promise<void> {
  if (!isStale()) return
  const lock = path.join(os.tmpdir(), `ukc-e2e-build-${Buffer.from(ROOT).toString('hex').slice(-24)}.lock`)
  const deadline = Date.now() + 180_000
  for (;;) {
    try {
      fs.mkdirSync(lock)
      break
    } catch {
      // Another run is building; a lock older than the deadline is stale.
      const since = fs.statSync(lock, {throwIfNoEntry: false})?.mtimeMs ?? Date.now()
      if (Date.now() - since > 180_000) fs.rmSync(lock, {recursive: true, force: true})
      if (Date.now() > deadline) throw new Error(`waited too long for the build lock ${lock}`)
      await delay(200)
    }
  }
  try {
    if (!isStale()) return
    for (const args of [['tsc', '-p', 'tsconfig.build.json'], ['tsx', 'scripts/bundle-cli.ts'], ['oclif', 'manifest']]) {
      const result = spawnSync('npx', args, {cwd: ROOT, encoding: 'utf8'})
      if (result.status !== 0) throw new Error(`npx ${args.join(' ')} failed:\n${result.stdout}${result.stderr}`)
    }
  } finally {
    fs.rmSync(lock, {recursive: true, force: true})
  }
}

export interface Run {
  code: number
  stdout: string
  stderr: string
}

export interface Started {
  url: string
  metro: string
  ca: string
  pid: number
  users: Array<{name: string; token: string}>
  gateway: {host: string; ports: Record<string, number>}
  started: boolean
}

export class Cli {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-e2e-platform-'))
  readonly dataDir = path.join(this.dir, 'platform')
  private tokens = new Map<string, string>()

  constructor() {
    // Instance processes run as an unprivileged user when the platform runs as root: they must be
    // able to traverse down to their dirs (mkdtemp makes 0700 dirs).
    fs.chmodSync(this.dir, 0o755)
  }

  env(user?: string): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {...process.env}
    for (const name of Object.keys(env)) if (/^(UKC|KRAFTCLOUD|KC|UNIKRAFTCLOUD)_/.test(name)) delete env[name]
    Object.assign(env, {
      UKC_LOCAL_DIR: this.dataDir,
      XDG_CONFIG_HOME: path.join(this.dir, 'config'),
      XDG_DATA_HOME: path.join(this.dir, 'data'),
      UKC_NO_PROMPT: '1',
      NO_COLOR: '1',
    })
    const token = user ? this.tokens.get(user) : undefined
    if (token) env.UKC_TOKEN = token
    return env
  }

  run(args: string[], options: {as?: string; timeoutMs?: number} = {}): Promise<Run> {
    return new Promise((resolve) => {
      execFile(process.execPath, [BIN, ...args], {env: this.env(options.as), timeout: options.timeoutMs ?? 120_000, maxBuffer: 16 << 20}, (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
        resolve({code, stdout, stderr})
      })
    })
  }

  /** Runs with --json and parses stdout; fails with the command's stderr otherwise. */
  async json<T>(args: string[], options: {as?: string; timeoutMs?: number} = {}): Promise<T> {
    const result = await this.run([...args, '--json'], options)
    if (result.code !== 0) throw new Error(`ukc ${args.join(' ')} exited ${result.code}:\n${result.stderr}${result.stdout}`)
    return JSON.parse(result.stdout) as T
  }

  async start(): Promise<Started> {
    const started = await this.json<Started>(['local', 'start', '--api-port', '0', '--gateway-port', '0', '--user', 'alice', '--user', 'bob'])
    for (const user of started.users) this.tokens.set(user.name, user.token)
    return started
  }

  /** Builds if stale, starts the platform and a running `ukc/echo` named `echo` (port 9000): the tunnel tests' target. */
  async startWithEcho(): Promise<Started> {
    await buildIfStale()
    const started = await this.start()
    const created = await this.run(['instance', 'create', '--name', 'echo', '--start', '--wait', 'ukc/echo'])
    if (created.code !== 0) throw new Error(`ukc instance create echo exited ${created.code}:\n${created.stderr}`)
    return started
  }

  ca(): string {
    return fs.readFileSync(path.join(this.dataDir, 'ca.pem'), 'utf8')
  }

  async cleanup(): Promise<void> {
    await this.run(['local', 'stop'])
    const info = path.join(this.dataDir, 'platform.json')
    if (fs.existsSync(info)) {
      const {pid} = JSON.parse(fs.readFileSync(info, 'utf8')) as {pid: number}
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // gone
      }
    }
    // A daemon killed with -9 leaves its volumes mounted (as root): never delete below a mount.
    const {wipeDataDir} = await import('../../src/platform/index.js')
    if (fs.existsSync(this.dataDir)) await wipeDataDir(this.dataDir)
    fs.rmSync(this.dir, {recursive: true, force: true})
  }
}

/**
 * An HTTP server that answers each request after 100 ms and exits at once on SIGTERM, as many apps
 * do: requests are in flight most of the time, and only the platform's drain keeps them from being cut.
 */
export const SLOW_SERVER = `
const http = require('node:http')
http.createServer((req, res) => {
  req.resume()
  setTimeout(() => res.end('slow from ' + process.env.UKC_INSTANCE_NAME + '\\n'), 100)
}).listen(Number(process.env.PORT), process.env.UKC_LISTEN_HOST)
process.on('SIGTERM', () => process.exit(0))
`

/** Polls `check` until it returns a value (not undefined) or the deadline passes. */
export async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const value = await check()
      if (value !== undefined) return value
    } catch (error) {
      last = error
    }
    await delay(100)
  }
  throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`)
}

export interface Reply {
  status: number
  body: string
}

/** One HTTPS request through the gateway, SNI and Host = the public FQDN, trusting only the platform CA. */
export function viaGateway(fqdn: string, port: number, ca: string, urlPath = '/'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.get({host: '127.0.0.1', port, servername: fqdn, headers: {host: fqdn}, path: urlPath, ca, agent: false, timeout: 30_000}, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({status: res.statusCode ?? 0, body}))
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', reject)
  })
}

/** Plain HTTP to a private endpoint, from a chosen loopback source address (the caller's network). */
export function viaPrivate(ip: string, port: number, localAddress: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get({host: ip, port, localAddress, agent: false, timeout: 30_000}, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({status: res.statusCode ?? 0, body}))
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', reject)
  })
}
