// Entry point of the emulated official relay image (`official/utils/tunnel:*` on the embedded
// platform): kraft's four args (the cookie from UKC_TUNNEL_COOKIE, where the platform moves it out of
// the world-readable argv), listen address and network from the platform's env. Exits 0 when the
// control heartbeat is missing, so a delete-on-stop relay disappears with its client.
import {parsePort} from '../../api/index.js'
import {relayLog, runRelayProgram} from '../relay/program.js'
import {parseLegacyArgs} from './protocol.js'
import {LegacyRelayServer} from './relay-server.js'

const port = parsePort(process.env.PORT)
runRelayProgram(
  'tunnel relay (legacy)',
  () => parseLegacyArgs(process.argv.slice(2), process.env),
  (config) =>
    new LegacyRelayServer(config, {
      host: process.env.UKC_LISTEN_HOST || '127.0.0.1',
      // The platform waits for the image's port (PORT) to accept: serve it as a control port too, so a
      // relay with another -P still becomes ready.
      extraControlPorts: port === undefined ? [] : [port],
      localAddress: process.env.UKC_PRIVATE_IP || undefined,
      hostsFile: process.env.UKC_HOSTS_FILE || undefined,
      log: relayLog,
    }),
)
