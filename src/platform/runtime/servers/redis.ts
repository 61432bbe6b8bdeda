// `redis:*`: the host's redis-server on the backend IP. Its working directory is the official
// image's `/data`: with a volume mounted there it persists (append-only file, fsync every second;
// read-only: the snapshot there is loaded, nothing written), without one it keeps nothing (like a
// fresh container without a volume). Extra instance args are passed to redis-server (e.g.
// `--requirepass x`) and win over these defaults.
import {requireBinary} from '../host-binaries.js'
import type {LaunchContext, LaunchPlan} from '../launch.js'
import {volumeCovering, volumePathOf} from '../../volumes/index.js'

export const REDIS_PORT = 6379
/** The official image's working directory, where it keeps its data. */
export const REDIS_DATA = '/data'

export function redisBinaries(image: string): string {
  return requireBinary('redis-server', 'redis-server', image)
}

export async function launchRedis(image: string, context: LaunchContext): Promise<LaunchPlan> {
  const binary = redisBinaries(image)
  const volume = volumeCovering(context.volumes, REDIS_DATA)
  const persistence = volume && !volume.readonly ? ['--appendonly', 'yes', '--appendfsync', 'everysec'] : ['--appendonly', 'no']
  const args = [
    '--bind', context.listenHost,
    '--port', String(context.port),
    '--protected-mode', 'no', // reachable only over loopback, through the platform's endpoints
    '--save', '',
    ...persistence,
    '--dir', volumePathOf(context.volumes, REDIS_DATA) ?? context.dataDir,
    '--daemonize', 'no',
    ...context.args,
  ]
  return {command: binary, args, stopSignal: 'SIGTERM'}
}
