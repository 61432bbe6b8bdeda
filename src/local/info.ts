// The contract between a running embedded platform and its clients (the CLI, the tunnel):
// `platform.json` in the platform's data dir (mode 0600: it holds the local users' tokens). Kept tiny
// so the CLI can read it without loading the platform.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {isRunning} from './liveness.js'

export interface PlatformUser {
  name: string
  /** base64(`user:secret`), as for real Unikraft Cloud. */
  token: string
}

export interface PlatformInfo {
  /** API base URL ending in `/v1`, e.g. `https://127.0.0.1:7780/v1`. */
  url: string
  metro: 'local'
  pid: number
  /** The daemon's start time (see liveness.ts): a zombie or a reused pid is not the platform. */
  pidStart?: string
  /** Path of the platform CA certificate (PEM) that signs the API's and the gateway's certificates. */
  ca: string
  dataDir: string
  /** The metro domain: services are `<name>.<domain>`, e.g. `my-svc.local.localhost`. */
  domain: string
  gateway: {
    host: string
    /** Published public port (e.g. 443, 80, 6379) → the loopback port the gateway listens on for it. */
    ports: Record<string, number>
  }
  users: PlatformUser[]
  startedAt: string
  /** What the platform cannot enforce between its users (not root, no nft), one line each; absent = nothing. */
  limits?: string[]
}

export const INFO_FILE = 'platform.json'

/**
 * `UKC_LOCAL_DIR`, else `<dataDir>/local` (oclif's data dir, e.g. ~/.local/share/ukc/local). As root
 * the default is `/var/lib/ukc/local`: instance processes then run unprivileged and must be able to
 * reach their directories, which a 0700 home does not allow.
 */
export function localDir(dataDir?: string): string {
  if (process.env.UKC_LOCAL_DIR) return path.resolve(process.env.UKC_LOCAL_DIR)
  if (process.getuid?.() === 0) return '/var/lib/ukc/local'
  const base = dataDir ?? path.join(process.env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share'), 'ukc')
  return path.join(base, 'local')
}

/** The running platform's info, or undefined when none is running in `dir`. */
export function readPlatformInfo(dir: string): PlatformInfo | undefined {
  let info: PlatformInfo
  try {
    info = JSON.parse(fs.readFileSync(path.join(dir, INFO_FILE), 'utf8')) as PlatformInfo
  } catch {
    return undefined
  }
  return isRunning({pid: info.pid, start: info.pidStart}) ? info : undefined
}

/** The public endpoint (host, port) of a published port of the local gateway. */
export function gatewayEndpoint(info: PlatformInfo, publicPort: number): {host: string; port: number} | undefined {
  const port = info.gateway.ports[String(publicPort)]
  return port === undefined ? undefined : {host: info.gateway.host, port}
}
