// One run of `ukc tunnel`, start to end: bind the listeners (fail fast), resolve targets, create the
// relay, connect, announce readiness, then serve until Ctrl-C/SIGTERM, drain, and delete the relay.
// A second Ctrl-C exits at once, still trying to delete the relay.
import {AuthError, NetworkError, type UkcClient, UsageError} from '../api/index.js'
import type {Target} from '../cli/target.js'
import {TunnelClient} from './client/tunnel-client.js'
import {RelayHandshakeError} from './client/relay-connection.js'
import {isLegacyImage} from './legacy/protocol.js'
import type {TunnelMapping} from './mappings.js'
import {type RelayInstance, createRelay, deleteRelay, newRelayCredentials, relayAlive, relayEndpoint, resolveMappings} from './relay-instance.js'

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

const HARD_EXIT_DELETE_BUDGET_MS = 2_000

export async function openTunnel(options: OpenTunnelOptions): Promise<'interrupted'> {
  if (isLegacyImage(options.image)) {
    // The official relay's TLS+cookie protocol; see src/tunnel/legacy.
    const {openLegacyTunnel} = await import('./legacy/cli-session.js')
    return openLegacyTunnel(options)
  }
  const {api, log, progress} = options
  const heartbeatTimeoutMs = options.heartbeatMs * 3
  let relay: RelayInstance | undefined
  let stopping = false
  let isReady = false
  let wake: (() => void) | undefined
  const stopped = new Promise<void>((resolve) => (wake = resolve))

  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      // Second signal: leave now, but give the relay deletion a short chance.
      log(`${signal} again: exiting now`)
      const exit = (): never => process.exit(130)
      const pending = relay ? deleteRelay(api, relay.uuid).catch(() => undefined) : Promise.resolve()
      const timer = setTimeout(exit, HARD_EXIT_DELETE_BUDGET_MS)
      void pending.then(exit, exit).finally(() => clearTimeout(timer))
      return
    }
    stopping = true
    // Still setting up: abandon the connection attempt; the finally block deletes the relay.
    if (!isReady) void tunnel.close(0)
    wake?.()
  }
  const signals = options.signals ?? ['SIGINT', 'SIGTERM']
  for (const s of signals) process.on(s, onSignal)
  const onStdinClosed = (): void => {
    if (stopping) return
    log('standard input closed: stopping')
    onSignal('SIGTERM')
  }
  if (options.watchStdin) {
    process.stdin.once('end', onStdinClosed).once('close', onStdinClosed)
    process.stdin.on('data', () => undefined) // read and drop: only the end matters
    process.stdin.resume()
  }

  const credentials = newRelayCredentials()
  const tunnel = new TunnelClient({
    forwards: [],
    heartbeatMs: options.heartbeatMs,
    idleTimeoutMs: options.idleTimeoutMs,
    log,
    recover: async (failures) => {
      // A relay that crashed restarts itself (on-failure); one that is gone is recreated.
      if (!relay || failures < 3 || (await relayAlive(api, relay.uuid))) return undefined
      log(`relay ${relay.name} is gone; creating a new one`)
      const fresh = newRelayCredentials()
      relay = await createRelay(api, {image: options.image, tokenHash: fresh.tokenHash, targets: allowList, heartbeatTimeoutMs})
      return relayEndpoint(relay, fresh.token, options.target.local, options.target.ca)
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
    if (stopping) return 'interrupted'

    progress(`creating the relay instance (${options.image})`)
    relay = await createRelay(api, {image: options.image, tokenHash: credentials.tokenHash, targets: allowList, heartbeatTimeoutMs})
    if (stopping) return 'interrupted'

    progress(`connecting to the relay at ${relay.fqdn}`)
    try {
      await tunnel.connect(options.connectMs, relayEndpoint(relay, credentials.token, options.target.local, options.target.ca))
    } catch (error) {
      if (stopping) return 'interrupted'
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
    await stopped

    log(`stopping: waiting up to ${Math.round(options.drainMs / 1000)} s for ${tunnel.openConnections} open connection(s); press Ctrl-C again to exit now`)
    await tunnel.close(options.drainMs)
    return 'interrupted'
  } finally {
    progress('')
    await tunnel.close(0)
    if (relay) {
      const gone = relay
      progress(`deleting the relay instance ${gone.name}`)
      await deleteRelay(api, gone.uuid).catch((error: Error) => log(`could not delete the relay ${gone.name} (${gone.uuid}): ${error.message}; it stops by itself once heartbeats are missing`))
      progress('')
    }
    for (const s of signals) process.off(s, onSignal)
    if (options.watchStdin) {
      process.stdin.off('end', onStdinClosed).off('close', onStdinClosed)
      process.stdin.destroy() // an open stdin would keep the process alive
    }
  }
}

function listenError(error: NodeJS.ErrnoException, bind: string): Error {
  const where = `${bind.includes(':') ? `[${bind}]` : bind}:${(error as {port?: number}).port ?? '?'}`
  if (error.code === 'EADDRINUSE') return new UsageError(`cannot listen on ${where}: the port is already in use`, 'pick another LOCAL_PORT, or 0 for a free one')
  if (error.code === 'EACCES') return new UsageError(`cannot listen on ${where}: permission denied`, 'use a LOCAL_PORT above 1023')
  if (error.code === 'EADDRNOTAVAIL') return new UsageError(`cannot listen on ${bind}: no such local address`, 'check --bind')
  return error
}
