// Starting and stopping the platform daemon from the CLI: spawn it detached (log to
// <dataDir>/platform.log), wait until platform.json is there and the API answers, and stop it with
// SIGTERM. Kept free of platform imports so the CLI loads little: the daemon is a file it runs.
import {spawn} from 'node:child_process'
import fs from 'node:fs'
import https from 'node:https'
import path from 'node:path'
import {setTimeout as delay} from 'node:timers/promises'
import {fileURLToPath} from 'node:url'

import {NetworkError} from '../api/errors.js'
import {type PlatformInfo, readPlatformInfo} from './info.js'
import {isRunning} from './liveness.js'

export const LOG_FILE = 'platform.log'
const START_TIMEOUT_MS = 60_000
const STOP_TIMEOUT_MS = 30_000

export interface EnsureOptions {
  dataDir: string
  apiPort?: number
  gatewayPort?: number
  users?: string[]
}

/** True when the API at `info.url` answers (any HTTP status: 401 is the expected one). */
export function apiAnswers(info: PlatformInfo, timeoutMs = 2000): Promise<boolean> {
  let ca: string
  try {
    ca = fs.readFileSync(info.ca, 'utf8')
  } catch {
    return Promise.resolve(false)
  }
  return new Promise((resolve) => {
    const req = https.get(new URL(info.url.replace(/\/v1$/, '/')), {ca, timeout: timeoutMs}, (res) => {
      res.resume()
      resolve(true)
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', () => resolve(false))
  })
}

/** How to run the daemon: the compiled entry when running from dist, the TypeScript one via tsx otherwise. */
function daemonCommand(): string[] {
  const platform = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'platform')
  const compiled = path.join(platform, 'main.js')
  if (fs.existsSync(compiled)) return [compiled]
  return ['--import', import.meta.resolve('tsx'), path.join(platform, 'main.ts')]
}

/** The line the daemon wrote about why it could not start (see platform/main.ts), after `from`. */
export const START_FAILURE = 'the platform could not start: '

function startFailure(dataDir: string, from: number): string | undefined {
  let text: string
  try {
    text = fs.readFileSync(path.join(dataDir, LOG_FILE)).subarray(from).toString('utf8')
  } catch {
    return undefined
  }
  const line = text.split('\n').reverse().find((l) => l.includes(START_FAILURE))
  return line?.slice(line.indexOf(START_FAILURE) + START_FAILURE.length).trim()
}

function logSize(dataDir: string): number {
  try {
    return fs.statSync(path.join(dataDir, LOG_FILE)).size
  } catch {
    return 0
  }
}

/** Returns the running platform in `dataDir`, starting it as a background daemon if needed. */
export async function ensurePlatform(options: EnsureOptions): Promise<PlatformInfo> {
  const dataDir = path.resolve(options.dataDir)
  const running = readPlatformInfo(dataDir)
  if (running && (await apiAnswers(running))) return running

  fs.mkdirSync(dataDir, {recursive: true, mode: 0o700})
  const logStart = logSize(dataDir)
  const logFd = fs.openSync(path.join(dataDir, LOG_FILE), 'a', 0o600)
  const args = [...daemonCommand(), '--data-dir', dataDir]
  if (options.apiPort !== undefined) args.push('--api-port', String(options.apiPort))
  if (options.gatewayPort !== undefined) args.push('--gateway-port', String(options.gatewayPort))
  for (const user of options.users ?? []) args.push('--user', user)
  const child = spawn(process.execPath, args, {cwd: dataDir, detached: true, stdio: ['ignore', logFd, logFd], env: process.env})
  fs.closeSync(logFd)
  let exited: number | undefined
  child.once('exit', () => {
    exited = Date.now()
  })
  child.unref()

  // Wait for this daemon — or for another one that won the race for the same data dir.
  const deadline = Date.now() + START_TIMEOUT_MS
  while (Date.now() < deadline) {
    const info = readPlatformInfo(dataDir)
    if (info && (await apiAnswers(info))) return info
    if (exited !== undefined && !info && Date.now() - exited > 1000) break
    await delay(50)
  }
  const reason = startFailure(dataDir, logStart)
  throw new NetworkError(
    `the local platform did not start in ${dataDir}${reason ? `: ${reason}` : ''}`,
    `see ${path.join(dataDir, LOG_FILE)}; \`ukc local start --foreground\` shows it live`,
  )
}

/** Stops the daemon (SIGTERM: instances stop gracefully, state is kept); undefined when none ran. */
export async function stopPlatform(dataDir: string, timeoutMs = STOP_TIMEOUT_MS): Promise<PlatformInfo | undefined> {
  const info = readPlatformInfo(path.resolve(dataDir))
  if (!info) return undefined
  try {
    process.kill(info.pid, 'SIGTERM')
  } catch {
    return info
  }
  const deadline = Date.now() + timeoutMs
  while (isRunning({pid: info.pid, start: info.pidStart})) {
    if (Date.now() > deadline) {
      process.kill(info.pid, 'SIGKILL')
      break
    }
    await delay(50)
  }
  return info
}
