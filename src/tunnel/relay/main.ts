// Entry point of the tunnel relay image (`ukc/tunnel-relay`): env from the platform, config from args.
import {parseRelayConfig} from './config.js'
import {relayLog, runRelayProgram} from './program.js'
import {RelayServer} from './server.js'

runRelayProgram(
  'tunnel relay',
  () => parseRelayConfig(process.argv.slice(2), process.env),
  (config) => new RelayServer(config, relayLog),
)
