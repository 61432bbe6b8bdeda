// One run of `ukc tunnel`, start to end: bind the listeners (fail fast), resolve targets, create the
// relay, connect, announce readiness, then serve until Ctrl-C/SIGTERM, drain, and delete the relay.
// A second Ctrl-C exits at once, still trying to delete the relay.
import {AuthError, NetworkError, type UkcClient} from '../api/index.js'
import type {Target} from '../cli/target.js'
import {TunnelClient} from './client/tunnel-client.js'
import {RelayHandshakeError} from './client/relay-connection.js'
import {isLegacyImage} from './legacy/protocol.js'
import type {TunnelMapping} from './mappings.js'
import {createRelay, newRelayCredentials, relayAlive, relayEndpoint, resolveMappings} from './relay-instance.js'
import {RunControl, listenError} from './run-control.js'

export interface TunnelReadyInfo {
  status: 'ready'
  relay: {uuid: string; fqdn: string}
  mappings: Array<{local: string; target: string}>
}

export interface OpenTunnelOptions {
  api: UkcClient
  target: Target
  mappings: TunnelMapping[]
  bind: string
  image: string
  heartbeatMs: number
  idleTimeoutMs?: number
  drainMs: number
  connectMs: number
  /** Spinner text; '' stops it. */
  progress: (text: string) => void
  /** Status lines (stderr). */
  log: (line: string) => void
  onReady: (info: TunnelReadyInfo) => void
  /** For tests: signals to listen to (default SIGINT, SIGTERM). */
  signals?: NodeJS.Signals[]
  /** Stop as on SIGTERM when standard input closes (the parent that started us went away). */
  watchStdin?: boolean
  /** Legacy mode only (an `utils/tunnel` image): -p values and -P. */
  proxyPorts?: number[]
  controlPort?: number
}

export async function openTunnel(options: OpenTunnelOptions): Promise<'interrupted'> {
  if (isLegacyImage(options.image)) {
    // The official relay's TLS+cookie protocol; see src/tunnel/legacy.
    const {openLegacyTunnel} = await import('./legacy/cli-session.js')
    return openLegacyTunnel(options)
  }
  const {api, log, progress} = options
  const heartbeatTimeoutMs = options.heartbeatMs * 3
  let isReady = false
  const control = new RunControl({
    api,
    log,
    signals: options.signals ?? ['SIGINT', 'SIGTERM'],
    watchStdin: options.watchStdin,
    // Still setting up: abandon the connection attempt; `finish` deletes the relay.
    onStop: () => {
      if (!isReady) void tunnel.close(0)
    },
  })

  const credentials = newRelayCredentials()
  const tunnel = new TunnelClient({
    forwards: [],
    heartbeatMs: options.heartbeatMs,
    idleTimeoutMs: options.idleTimeoutMs,
    log,
    recover: async (failures) => {
      // A relay that crashed restarts itself (on-failure); one that is gone is recreated.
      const gone = control.relay
      if (!gone || failures < 3 || (await relayAlive(api, gone.uuid))) return undefined
      log(`relay ${gone.name} is gone; creating a new one`)
      const fresh = newRelayCredentials()
      control.relay = await createRelay(api, {image: options.image, tokenHash: fresh.tokenHash, targets: allowList, heartbeatTimeoutMs})
      return relayEndpoint(control.relay, fresh.token, options.target.local, options.target.ca)
    },
  })
  let allowList: string[] = []

  try {
    progress('resolving targets')
    const resolved = await resolveMappings(api, options.mappings)
    allowList = resolved.map((m) => m.target)
    tunnel.setForwards(resolved.map((m) => ({bind: options.bind, localPort: m.localPort, target: m.target, label: m.label})))
    const forwards = await tunnel.listen().catch((error: NodeJS.ErrnoException) => {
      throw listenError(error, options.bind)
    })
    if (control.stopping) return 'interrupted'

    progress(`creating the relay instance (${options.image})`)
    const relay = await createRelay(api, {image: options.image, tokenHash: credentials.tokenHash, targets: allowList, heartbeatTimeoutMs})
    control.relay = relay
    if (control.stopping) return 'interrupted'

    progress(`connecting to the relay at ${relay.fqdn}`)
    try {
      await tunnel.connect(options.connectMs, relayEndpoint(relay, credentials.token, options.target.local, options.target.ca))
    } catch (error) {
      if (control.stopping) return 'interrupted'
      if (error instanceof RelayHandshakeError && (error.status === 401 || error.status === 403)) throw new AuthError(error.message, 'this is a bug or a different relay answered; try again')
      throw new NetworkError(`could not connect to the relay at ${relay.fqdn}: ${(error as Error).message}`, `see its logs: ukc instance logs ${relay.name}`, error)
    }
    progress('')
    isReady = true
    options.onReady({
      status: 'ready',
      relay: {uuid: relay.uuid, fqdn: relay.fqdn},
      mappings: forwards.map((f) => ({local: f.local, target: f.label})),
    })
    return await control.serveUntilStopped(tunnel, options.drainMs)
  } finally {
    progress('')
    await tunnel.close(0)
    await control.finish(progress)
  }
}
