import fs from 'node:fs'

import {AuthError, LOCAL_METRO, UkcClient, baseUrlForMetro} from '../api/index.js'
import {type PlatformInfo, readPlatformInfo} from '../local/index.js'
import {ConfigStore} from './config.js'

/** Where commands send their API calls, and as whom. */
export interface Target {
  metro: string
  baseUrl: string
  token: string
  /**
   * The trust decision, made here alone: the embedded platform's API is trusted through its own CA
   * and nothing else (set for metro `local` and for its URL); every other metro through the system
   * roots (unset).
   */
  ca?: string
  profile: string
  /** Set when the metro is the embedded platform. */
  local?: PlatformInfo
}

export interface TargetInput {
  metro?: string
  token?: string
  profile?: string
  configDir: string
  localDir: string
  /** Start the embedded platform when metro is local and none is running. */
  autoStart: boolean
  /** One line to stderr. */
  notice: (line: string) => void
  env?: NodeJS.ProcessEnv
}

// UKC_* normally arrive through the flags (oclif fills --metro/--token from them, so they win over
// the aliases); they are listed last for callers that pass no flags, as kraft does.
const METRO_ENVS = ['UNIKRAFTCLOUD_METRO', 'KRAFTCLOUD_METRO', 'KC_METRO', 'UKC_METRO']
const TOKEN_ENVS = ['UNIKRAFTCLOUD_TOKEN', 'KRAFTCLOUD_TOKEN', 'KC_TOKEN', 'UKC_TOKEN']

function firstEnv(env: NodeJS.ProcessEnv, names: string[]): string | undefined {
  for (const name of names) if (env[name]) return env[name]
  return undefined
}

/**
 * Precedence, for metro and token alike: flag > env (UKC_* first, then the kraft aliases) >
 * the active profile > default (metro `local`; for `local`, its first user's token).
 */
export async function resolveTarget(input: TargetInput): Promise<Target> {
  const env = input.env ?? process.env
  const store = new ConfigStore(input.configDir)
  const {name: profileName, profile} = store.profile(input.profile || env.UKC_PROFILE)
  const metro = input.metro || firstEnv(env, METRO_ENVS) || profile.metro || LOCAL_METRO
  let token = input.token || firstEnv(env, TOKEN_ENVS)
  if (!token && profile.token && (profile.metro ?? LOCAL_METRO) === metro) token = profile.token
  if (!token && profile.token && metro !== LOCAL_METRO) token = profile.token

  // The URL that `ukc local start` printed names the local platform: trust its CA like `--metro local`.
  const localByUrl = metro.includes('://') ? platformServing(metro, input.localDir) : undefined
  if (localByUrl) {
    token ||= localByUrl.users[0]?.token
    if (!token) throw new AuthError('no token for the local platform', 'run `ukc local start` and use one of the tokens it prints')
    return {metro: LOCAL_METRO, baseUrl: localByUrl.url, token, ca: fs.readFileSync(localByUrl.ca, 'utf8'), profile: profileName, local: localByUrl}
  }

  if (metro.toLowerCase() !== LOCAL_METRO) {
    if (!token) throw new AuthError('could not determine unikraft cloud user token', 'set UKC_TOKEN, pass --token, or run `ukc login`')
    return {metro, baseUrl: baseUrlForMetro(metro), token, profile: profileName}
  }

  let local = readPlatformInfo(input.localDir)
  if (!local && input.autoStart) {
    input.notice(`Starting the embedded Unikraft Cloud platform in ${input.localDir} (metro local; stop it with \`ukc local stop\`)`)
    const {ensurePlatform} = await import('../local/index.js')
    local = await ensurePlatform({dataDir: input.localDir})
  }
  const baseUrl = baseUrlForMetro(LOCAL_METRO, local?.url)
  token ||= local?.users[0]?.token
  if (!token || !local) throw new AuthError('no token for the local platform', 'run `ukc local start` and use one of the tokens it prints')
  return {metro: LOCAL_METRO, baseUrl, token, ca: fs.readFileSync(local.ca, 'utf8'), profile: profileName, local}
}

/** The running local platform in `localDir` when its API is at `url`. */
function platformServing(url: string, localDir: string): PlatformInfo | undefined {
  const info = readPlatformInfo(localDir)
  const normal = (value: string): string => value.replace(/\/+$/, '').toLowerCase()
  return info && normal(info.url) === normal(url) ? info : undefined
}

export function clientFor(target: Target, options: {timeoutMs?: number} = {}): UkcClient {
  return new UkcClient({baseUrl: target.baseUrl, token: target.token, ca: target.ca, timeoutMs: options.timeoutMs, userAgent: 'ukc/0.1'})
}
