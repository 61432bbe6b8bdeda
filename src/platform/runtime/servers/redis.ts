// `redis:*`: the host's redis-server on the backend IP, no persistence (like a fresh container
// without a volume); extra instance args are passed to redis-server (e.g. `--requirepass x`).
import {requireBinary} from '../host-binaries.js'
import type {LaunchContext, LaunchPlan} from '../launch.js'

export const REDIS_PORT = 6379

export function redisBinaries(image: string): string {
  return requireBinary('redis-server', 'redis-server', image)
}

export async function launchRedis(image: string, context: LaunchContext): Promise<LaunchPlan> {
  const binary = redisBinaries(image)
  const args = [
    '--bind', context.listenHost,
    '--port', String(context.port),
    '--protected-mode', 'no', // reachable only over loopback, through the platform's endpoints
    '--save', '',
    '--appendonly', 'no',
    '--dir', context.dataDir,
    '--daemonize', 'no',
    ...context.args,
  ]
  return {command: binary, args, stopSignal: 'SIGTERM'}
}
