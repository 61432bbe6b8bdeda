// Starting and stopping the platform daemon from the CLI: spawn it detached (log to
// <dataDir>/platform.log), wait until platform.json is there and the API answers, and stop it with
// SIGTERM. Kept free of platform imports so the CLI loads little.
import {spawn} from 'node:child_process'
import fs from 'node:fs'
import https from 'node:https'
import path from 'node:path'
import {setTimeout as delay} from 'node:timers/promises'
import {fileURLToPath} from 'node:url'

import {NetworkError} from '../api/errors.js'
import {type PlatformInfo, isAlive, readPlatformInfo} from './info.js'

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
  const here = path.dirname(fileURLToPath(import.meta.url))
  const compiled = path.join(here, 'main.js')
  if (fs.existsSync(compiled)) return [compiled]
  return ['--import', import.meta.resolve('tsx'), path.join(here, 'main.ts')]
}

function logTail(dataDir: string, lines = 15): string {
  try {
    return fs.readFileSync(path.join(dataDir, LOG_FILE), 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
  } catch {
    return ''
  }
}

/** Returns the running platform in `dataDir`, starting it as a background daemon if needed. */
export async function ensurePlatform(options: EnsureOptions): Promise<PlatformInfo> {
  const dataDir = path.resolve(options.dataDir)
  const running = readPlatformInfo(dataDir)
  if (running && (await apiAnswers(running))) return running

  fs.mkdirSync(dataDir, {recursive: true, mode: 0o700})
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
  const tail = logTail(dataDir)
  throw new NetworkError(
    `the local platform did not start in ${dataDir}${tail ? `:\n${tail}` : ''}`,
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
  while (isAlive(info.pid)) {
    if (Date.now() > deadline) {
      process.kill(info.pid, 'SIGKILL')
      break
    }
    await delay(50)
  }
  return info
}
