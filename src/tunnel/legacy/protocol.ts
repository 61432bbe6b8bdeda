// The official kraft relay's protocol (`official/utils/tunnel`), both ends: the relay's four args,
// the 32-character auth cookie, the int16 status after it, and the control port's heartbeat.
// Faithful to kraftkit's `kraft cloud tunnel` (v2) so the image real Unikraft Cloud offers works.
import crypto from 'node:crypto'

import {parsePort} from '../../api/index.js'

/** "👋🐒\0": what the control connection sends after the cookie and then on every heartbeat. */
export const HEARTBEAT = Buffer.from([0xf0, 0x9f, 0x91, 0x8b, 0xf0, 0x9f, 0x90, 0x92, 0x00])
export const COOKIE_LENGTH = 32
export const DEFAULT_CONTROL_PORT = 4443
export const DEFAULT_PROXY_PORT = 4444
/** Seconds the relay gives a connection to present the cookie (kraft's value). */
export const AUTH_TIMEOUT_S = 5
/** kraft's EVS_TIMEOUT; the emulated relay stops when the control heartbeat is missing this long. */
export const EVS_TIMEOUT_S = 600
/** kraft's hard-coded fifth field of a forward; the emulated relay reads it as a connection budget. */
export const FORWARD_BUDGET = 27

const COOKIE_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

/** Whether `image` is the official relay (any tag, any registry prefix): legacy mode. */
export function isLegacyImage(image: string): boolean {
  return image.toLowerCase().includes('utils/tunnel')
}

/** 32 characters from [0-9A-Za-z], uniformly (crypto.randomInt has no modulo bias). */
export function newCookie(): string {
  let cookie = ''
  for (let i = 0; i < COOKIE_LENGTH; i++) cookie += COOKIE_ALPHABET[crypto.randomInt(COOKIE_ALPHABET.length)]
  return cookie
}

export interface LegacyForward {
  /** Private IP or `*.internal` name the relay dials. */
  host: string
  destPort: number
  /** The relay's public port for this forward (4444, 4445, ...). */
  exposedPort: number
}

export interface LegacyRelayArgs {
  controlPort: number
  controlAuthTimeoutS: number
  authTimeoutS: number
  cookie: string
  evsTimeoutS: number
  forwards: Array<LegacyForward & {budget: number}>
}

/** `["<CONTROL_PORT>:5", "5:<COOKIE>", "600", "[TCP2TCP:<host>:<dest>:<exposed>:27|...]"]` */
export function legacyArgs(options: {controlPort: number; cookie: string; forwards: LegacyForward[]}): string[] {
  const forwards = options.forwards.map((f) => `TCP2TCP:${f.host}:${f.destPort}:${f.exposedPort}:${FORWARD_BUDGET}`)
  return [`${options.controlPort}:${AUTH_TIMEOUT_S}`, `${AUTH_TIMEOUT_S}:${options.cookie}`, String(EVS_TIMEOUT_S), `[${forwards.join('|')}]`]
}

/**
 * Where the embedded platform hands the emulated relay its cookie. kraft's protocol puts the cookie in
 * the relay's args; on Unikraft Cloud no other tenant can read a VM's args, but on one machine
 * /proc/<pid>/cmdline is world-readable, while /proc/<pid>/environ is readable by the process's own
 * uid only. So the platform's launch of the emulation moves the cookie from the args into this
 * variable and leaves `5:$UKC_TUNNEL_COOKIE` in their place (the API still shows the args as sent).
 */
export const COOKIE_ENV = 'UKC_TUNNEL_COOKIE'
const COOKIE_FROM_ENV = `$${COOKIE_ENV}`
const AUTH_ARG = /^(\d+):([0-9A-Za-z]+|\$UKC_TUNNEL_COOKIE)$/

/** kraft's args with the cookie moved into the environment (see COOKIE_ENV); other args are left as they are. */
export function moveCookieToEnv(args: string[]): {args: string[]; env: Record<string, string>} {
  const match = AUTH_ARG.exec(args[1] ?? '')
  if (args.length !== 4 || !match || match[2] === COOKIE_FROM_ENV) return {args, env: {}}
  return {args: [args[0] ?? '', `${match[1]}:${COOKIE_FROM_ENV}`, ...args.slice(2)], env: {[COOKIE_ENV]: match[2] ?? ''}}
}

/** The relay side: the four args (and the cookie from `env` when they refer to it) back into a configuration; throws with a one-line reason. */
export function parseLegacyArgs(argv: string[], env: NodeJS.ProcessEnv = {}): LegacyRelayArgs {
  if (argv.length !== 4) throw new Error(`expected 4 args (CONTROL_PORT:TIMEOUT AUTH_TIMEOUT:COOKIE EVS_TIMEOUT [FORWARDS]), got ${argv.length}`)
  const [control = '', auth = '', evs = '', list = ''] = argv
  const controlMatch = /^(\d{1,5}):(\d+)$/.exec(control)
  if (!controlMatch) throw new Error(`"${control}" is not CONTROL_PORT:AUTH_TIMEOUT`)
  const authMatch = AUTH_ARG.exec(auth)
  if (!authMatch) throw new Error('the second arg is not AUTH_TIMEOUT:COOKIE')
  const cookie = authMatch[2] === COOKIE_FROM_ENV ? env[COOKIE_ENV] ?? '' : authMatch[2] ?? ''
  if (!/^[0-9A-Za-z]+$/.test(cookie)) throw new Error(`the second arg names ${COOKIE_FROM_ENV}, but ${COOKIE_ENV} holds no cookie`)
  if (!/^\d+$/.test(evs)) throw new Error(`"${evs}" is not a number of seconds`)
  const listMatch = /^\[(.*)\]$/.exec(list)
  if (!listMatch?.[1]) throw new Error(`"${list}" is not a [TCP2TCP:HOST:DEST:EXPOSED:N|...] list`)
  const forwards = listMatch[1].split('|').map((entry) => {
    const match = /^TCP2TCP:([^:|]+):(\d{1,5}):(\d{1,5}):(\d+)$/i.exec(entry)
    if (!match) throw new Error(`"${entry}" is not TCP2TCP:HOST:DEST:EXPOSED:N (only TCP is supported)`)
    return {host: (match[1] ?? '').toLowerCase(), destPort: checkPort(match[2]), exposedPort: checkPort(match[3]), budget: Number(match[4])}
  })
  return {
    controlPort: checkPort(controlMatch[1]),
    controlAuthTimeoutS: Number(controlMatch[2]),
    authTimeoutS: Number(authMatch[1]),
    cookie,
    evsTimeoutS: Number(evs),
    forwards,
  }
}

function checkPort(text: string | undefined): number {
  const port = parsePort(text)
  if (port === undefined) throw new Error(`${text} is not a port`)
  return port
}

/** The status the relay answers after the cookie: int16 little-endian. */
export function encodeStatus(status: number): Buffer {
  const buffer = Buffer.alloc(2)
  buffer.writeInt16LE(status)
  return buffer
}

/** What a non-positive status means to the user (kraft's wording, our command). */
export function describeStatus(status: number, relayName: string): string {
  if (status === 0) return 'no more available connections to remote host. Try again later'
  return `internal tunnel error (C=${status}), to view logs run: ukc instance logs ${relayName}`
}
