// The relay's handshake limits through the embedded platform's gateway: the relay sees the gateway
// as its peer, so the source of a handshake is what the gateway appended to X-Forwarded-For. Ten bad
// tokens from one address block that address only, and the client with the right token gets back in,
// even from a blocked address. (The client is the library `ukc tunnel` runs, so the test knows the token.)
import path from 'node:path'
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import {clientFor, resolveTarget} from '../../src/cli/target.js'
import {createRelay, deleteRelay, newRelayCredentials, relayEndpoint} from '../../src/tunnel/index.js'
import {Cli} from '../e2e/platform-harness.js'
import {TunnelClient, collect, connect, upgradeStatus as upgrade, waitFor} from './harness.js'

const cli = new Cli()

/** The status of a WebSocket upgrade to `fqdn` through the gateway, sent from the loopback address `from`. */
function upgradeStatus(gateway: {host: string; port: number}, fqdn: string, token: string, from: string): Promise<number> {
  return upgrade({url: `wss://${gateway.host}:${gateway.port}/`, authorization: `Bearer ${token}`, from, tls: {ca: cli.ca(), servername: fqdn}})
}

describe('relay handshake limits through the gateway', {timeout: 300_000}, () => {
  before(() => cli.startWithEcho())

  after(() => cli.cleanup())

  it('ten bad tokens from one address block that address only; the client gets back in, even from a blocked address', async () => {
    const target = await resolveTarget({configDir: path.join(cli.dir, 'config'), localDir: cli.dataDir, autoStart: false, notice: () => undefined, env: {}})
    const api = clientFor(target)
    const credentials = newRelayCredentials()
    const relay = await createRelay(api, {image: 'ukc/tunnel-relay', tokenHash: credentials.tokenHash, targets: ['echo.internal:9000'], heartbeatTimeoutMs: 30_000})
    const endpoint = relayEndpoint(relay, credentials.token, {local: target.local, ca: target.ca})
    const gateway = {host: endpoint.connectHost ?? '127.0.0.1', port: Number(new URL(endpoint.url).port)}
    const logs: string[] = []
    const client = new TunnelClient({forwards: [{bind: '127.0.0.1', localPort: 0, target: 'echo.internal:9000', label: 'echo'}], heartbeatMs: 10_000, maxBackoffMs: 500, log: (line) => logs.push(line)})
    try {
      const [forward] = await client.listen()
      await client.connect(60_000, endpoint)

      for (let i = 0; i < 10; i++) assert.equal(await upgradeStatus(gateway, relay.fqdn, 'guess', '127.0.0.2'), 401)
      assert.equal(await upgradeStatus(gateway, relay.fqdn, 'guess', '127.0.0.2'), 429)
      // The gateway is every client's peer, yet another address keeps its own budget.
      assert.equal(await upgradeStatus(gateway, relay.fqdn, 'guess', '127.0.0.1'), 401)
      // Block the client's own address too, then drop the client's WebSocket: it must get back in.
      for (let i = 0; i < 9; i++) await upgradeStatus(gateway, relay.fqdn, 'guess', '127.0.0.1')
      assert.equal(await upgradeStatus(gateway, relay.fqdn, 'guess', '127.0.0.1'), 429)
      client.relay.session?.ws.terminate()
      await waitFor(() => logs.includes('tunnel connection restored'), 60_000, () => logs.join('\n'))
      const socket = await connect(forward?.port as number)
      const echoed = collect(socket)
      socket.end('back in')
      assert.equal((await echoed).data.toString(), 'back in')
    } finally {
      await client.close(0)
      await deleteRelay(api, relay.uuid)
    }
  })
})
