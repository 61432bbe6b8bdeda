// What both relay images do as programs: log with timestamps, read their config (exit 2 if it is
// bad), serve, and exit 0 when the client's heartbeat is gone or on SIGTERM/SIGINT — so a
// delete-on-stop instance disappears with its client.
import type {EventEmitter} from 'node:events'

export interface RelayProgramServer extends EventEmitter<{'heartbeat-lost': []}> {
  listen(): Promise<unknown>
  close(): Promise<void>
}

export function relayLog(line: string): void {
  process.stdout.write(`${new Date().toISOString()} ${line}\n`)
}

export function runRelayProgram<C>(name: string, readConfig: () => C, serve: (config: C) => RelayProgramServer): void {
  let config: C
  try {
    config = readConfig()
  } catch (error) {
    process.stderr.write(`${name}: ${(error as Error).message}\n`)
    process.exit(2)
  }
  const relay = serve(config)
  const stop = (code: number): void => {
    relay.close().then(
      () => process.exit(code),
      () => process.exit(code),
    )
  }
  relay.on('heartbeat-lost', () => stop(0))
  process.on('SIGTERM', () => stop(0))
  process.on('SIGINT', () => stop(0))
  relay.listen().catch((error: Error) => {
    process.stderr.write(`${name}: cannot listen: ${error.message}\n`)
    process.exit(1)
  })
}
