// Entry point of the emulated official relay image (`official/utils/tunnel:*` on the embedded
// platform): kraft's four args, listen address and network from the platform's env. Exits 0 when the
// control heartbeat is missing, so a delete-on-stop relay disappears with its client.
import {parseLegacyArgs} from './protocol.js'
import {LegacyRelayServer} from './relay-server.js'

const log = (line: string): void => {
  process.stdout.write(`${new Date().toISOString()} ${line}\n`)
}

let config
try {
  config = parseLegacyArgs(process.argv.slice(2))
} catch (error) {
  process.stderr.write(`tunnel relay (legacy): ${(error as Error).message}\n`)
  process.exit(2)
}

const port = Number(process.env.PORT)
const relay = new LegacyRelayServer(config, {
  host: process.env.UKC_LISTEN_HOST || '127.0.0.1',
  // The platform waits for the image's port (PORT) to accept: serve it as a control port too, so a
  // relay with another -P still becomes ready.
  extraControlPorts: Number.isInteger(port) && port > 0 ? [port] : [],
  localAddress: process.env.UKC_PRIVATE_IP || undefined,
  hostsFile: process.env.UKC_HOSTS_FILE || undefined,
  log,
})
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
  process.stderr.write(`tunnel relay (legacy): cannot listen: ${error.message}\n`)
  process.exit(1)
})
