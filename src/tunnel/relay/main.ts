// Entry point of the tunnel relay image (`ukc/tunnel-relay`): env from the platform, config from args.
// Exits 0 when the client's heartbeat is gone so a delete-on-stop instance disappears with it.
import {parseRelayConfig} from './config.js'
import {RelayServer} from './server.js'

const log = (line: string): void => {
  process.stdout.write(`${new Date().toISOString()} ${line}\n`)
}

let config
try {
  config = parseRelayConfig(process.argv.slice(2), process.env)
} catch (error) {
  process.stderr.write(`tunnel relay: ${(error as Error).message}\n`)
  process.exit(2)
}

const relay = new RelayServer(config, log)
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
  process.stderr.write(`tunnel relay: cannot listen: ${error.message}\n`)
  process.exit(1)
})
