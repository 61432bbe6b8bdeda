// How the emulated `official/utils/volimport` image gets its configuration, both sides of it:
// the platform's launch (catalog.ts) moves the secret out of argv — which any local user can read in
// /proc — into the environment, and only as its SHA-256 and length, so not even the instance's
// environment holds it; the program (main.ts) reads kraft's args, that environment, where to listen
// (UKC_LISTEN_HOST, PORT) and the volume mounted at `/` (UKC_VOLUME_ROOT, and its size).
import {hashToken} from '../../../tunnel/relay/auth.js'
import {parseVolimportArgs} from '../../../volimport/protocol.js'
import type {LaunchContext} from '../../runtime/launch.js'
import {volumeVariable} from '../../volumes/index.js'

export const AUTH_SHA256_ENV = 'UKC_VOLIMPORT_AUTH_SHA256'
export const AUTH_LENGTH_ENV = 'UKC_VOLIMPORT_AUTH_LENGTH'
/** The size of the volume at `/` (a directory volume's free space is not the filesystem's). */
export const VOLUME_BYTES_ENV = 'UKC_VOLIMPORT_VOLUME_BYTES'
const ROOT_ENV = volumeVariable('/')

export interface VolimportServerConfig {
  host: string
  /** -p, and the platform's PORT when it differs (the platform waits for that one to accept). */
  ports: number[]
  authSha256: Buffer
  authLength: number
  timeoutS: number
  /** The host directory that is the volume's root. */
  root: string
  volumeBytes?: number
}

/**
 * The launch's step for this image: `-a AUTH` leaves argv, its digest and length go into the env
 * (context.env itself: the runtime spawns with it), with the size of the volume at `/`.
 */
export function sealVolimportAuth(context: LaunchContext): LaunchContext {
  const args = [...context.args]
  for (let i = 0; i + 1 < args.length; i += 2) {
    if (args[i] !== '-a') continue
    const auth = args[i + 1] ?? ''
    context.env[AUTH_SHA256_ENV] = hashToken(auth)
    context.env[AUTH_LENGTH_ENV] = String(Buffer.byteLength(auth, 'utf8'))
    args.splice(i, 2)
    break
  }
  const root = context.volumes.find((volume) => volume.at === '/')
  if (root?.sizeMb) context.env[VOLUME_BYTES_ENV] = String(root.sizeMb * 1024 * 1024)
  return {...context, args}
}

/** The program's configuration; throws with a one-line reason. */
export function readServerConfig(argv: readonly string[], env: NodeJS.ProcessEnv): VolimportServerConfig {
  const args = parseVolimportArgs(argv)
  let authSha256: Buffer
  let authLength: number
  if (args.auth !== undefined) {
    authSha256 = Buffer.from(hashToken(args.auth), 'hex')
    authLength = Buffer.byteLength(args.auth, 'utf8')
  } else {
    const digest = env[AUTH_SHA256_ENV] ?? ''
    authLength = Number(env[AUTH_LENGTH_ENV])
    if (!/^[0-9a-f]{64}$/.test(digest) || !Number.isInteger(authLength) || authLength < 1) throw new Error('no auth: give -a AUTH')
    authSha256 = Buffer.from(digest, 'hex')
  }
  const root = env[ROOT_ENV]
  if (!root) throw new Error(`no volume is mounted at / (${ROOT_ENV} is not set): create the instance with the volume at /`)
  const platformPort = Number(env.PORT)
  const ports = [args.port, ...(Number.isInteger(platformPort) && platformPort > 0 && platformPort !== args.port ? [platformPort] : [])]
  const volumeBytes = Number(env[VOLUME_BYTES_ENV])
  return {
    host: env.UKC_LISTEN_HOST || '127.0.0.1',
    ports,
    authSha256,
    authLength,
    timeoutS: args.timeoutS,
    root,
    ...(Number.isInteger(volumeBytes) && volumeBytes > 0 ? {volumeBytes} : {}),
  }
}
