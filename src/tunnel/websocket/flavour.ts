// The WebSocket relay as a flavour of the run loop: the relay instance (published on 443 http+tls,
// a fresh 256-bit token of which only the SHA-256 goes into its args, which the API shows), the
// connection to it, and a new relay when the old one is gone.
import crypto from 'node:crypto'

import {AuthError, NetworkError, type UkcClient} from '../../api/index.js'
import type {ResolvedMapping} from '../mappings.js'
import {hashToken} from '../relay/auth.js'
import {RELAY_DEFAULT_PORT, relayArgs} from '../relay/config.js'
import {type RelayInstance, type RelayReach, createRelayInstance, publicAddress, relayAlive} from '../relay-instance.js'
import type {OpenRelay, RelayFlavour} from '../relay-link.js'
import {WebSocketLink} from './link.js'
import {type RelayEndpoint, RelayHandshakeError} from './relay-connection.js'

/** Consecutive failed reconnects before asking the API whether the relay still exists. */
const FAILURES_BEFORE_RECREATE = 3

export interface RelayCredentials {
  token: string
  tokenHash: string
}

/** A fresh 256-bit token; the relay only ever sees its hash. */
export function newRelayCredentials(): RelayCredentials {
  const token = crypto.randomBytes(32).toString('base64url')
  return {token, tokenHash: hashToken(token)}
}

export function createRelay(client: UkcClient, options: {image: string; tokenHash: string; targets: string[]; heartbeatTimeoutMs: number}): Promise<RelayInstance> {
  return createRelayInstance(
    client,
    {
      image: options.image,
      args: relayArgs({tokenHash: options.tokenHash, allow: [...new Set(options.targets)], heartbeatTimeoutMs: options.heartbeatTimeoutMs}),
      memory_mb: 64,
      // Public only on 443 (http+tls): works where nothing but HTTPS leaves the network.
      service_group: {services: [{port: 443, destination_port: RELAY_DEFAULT_PORT, handlers: ['http', 'tls']}]},
      autostart: true,
      wait_timeout_ms: 10_000,
      // A crash restarts it; a clean exit (heartbeat lost) stops it and delete-on-stop removes it.
      restart_policy: 'on-failure',
      features: ['delete-on-stop'],
    },
    'check that your account can publish services on port 443',
  )
}

/** Where to open the WebSocket: the local gateway's 443 (trusting its CA) or `<fqdn>:443` with system roots. */
export function relayEndpoint(relay: RelayInstance, token: string, reach: RelayReach): RelayEndpoint {
  if (!reach.local) return {url: `wss://${relay.fqdn}/`, token}
  const gateway = publicAddress(reach, relay.fqdn, 443)
  return {url: `wss://${relay.fqdn}:${gateway.port}/`, connectHost: gateway.host, ca: reach.ca, token}
}

export interface WebSocketFlavourOptions {
  api: UkcClient
  reach: RelayReach
  image: string
  heartbeatMs: number
  progress: (text: string) => void
  log: (line: string) => void
}

export class WebSocketFlavour implements RelayFlavour {
  constructor(private readonly options: WebSocketFlavourOptions) {}

  async open(targets: ResolvedMapping[]): Promise<OpenRelay> {
    const {api, reach, image, heartbeatMs, progress, log} = this.options
    const allow = targets.map((t) => t.target)
    const create = (credentials: RelayCredentials): Promise<RelayInstance> =>
      createRelay(api, {image, tokenHash: credentials.tokenHash, targets: allow, heartbeatTimeoutMs: heartbeatMs * 3})
    let credentials = newRelayCredentials()
    progress(`creating the relay instance (${image})`)
    let relay = await create(credentials)
    const link = new WebSocketLink({
      targets: allow,
      heartbeatMs,
      log,
      // A relay that crashed restarts by itself (on-failure); one that is gone is created again.
      recover: async (failures) => {
        if (failures < FAILURES_BEFORE_RECREATE || (await relayAlive(api, relay.uuid))) return undefined
        log(`relay ${relay.name} is gone; creating a new one`)
        credentials = newRelayCredentials()
        relay = await create(credentials)
        return relayEndpoint(relay, credentials.token, reach)
      },
    })
    return {
      get relay() {
        return relay
      },
      image,
      carry: (socket, index) => link.carry(socket, index),
      close: () => link.close(),
      connect: async ({deadlineMs, signal}) => {
        progress(`connecting to the relay at ${relay.fqdn}`)
        try {
          await link.connect({deadlineMs, signal}, relayEndpoint(relay, credentials.token, reach))
        } catch (error) {
          if (signal.aborted) return
          if (error instanceof RelayHandshakeError && error.rejected) throw new AuthError(error.message, 'this is a bug or a different relay answered; try again')
          throw new NetworkError(`could not connect to the relay at ${relay.fqdn}: ${(error as Error).message}`, `see its logs: ukc instance logs ${relay.name}`, error)
        }
      },
    }
  }
}
