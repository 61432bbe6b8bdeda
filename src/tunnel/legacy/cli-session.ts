// One run of `ukc tunnel` in legacy mode (the official `utils/tunnel` relay): bind the listeners, resolve
// targets, create the relay with a fresh cookie, wait until it runs, open the control connection,
// announce readiness, serve until Ctrl-C/SIGTERM, drain, and delete the relay — like the modern path.
import {NetworkError, UsageError} from '../../api/index.js'
import type {OpenTunnelOptions} from '../cli-session.js'
import {targetAddress} from '../mappings.js'
import {type RelayInstance, deleteRelay, resolveMappings} from '../relay-instance.js'
import {newCookie} from './protocol.js'
import {createLegacyRelay, legacyEndpoint, waitForRelay} from './relay-instance.js'
import {legacyForwards, legacyPorts} from './request.js'
import {LegacyTunnelClient} from './tunnel-client.js'

const HARD_EXIT_DELETE_BUDGET_MS = 2_000
const HANDSHAKE_TIMEOUT_MS = 10_000

export async function openLegacyTunnel(options: OpenTunnelOptions): Promise<'interrupted'> {
  const {api, log, progress} = options
  const ports = legacyPorts(options.mappings.length, options.proxyPorts, options.controlPort)
  let relay: RelayInstance | undefined
  let stopping = false
  let wake: (() => void) | undefined
  const stopped = new Promise<void>((resolve) => (wake = resolve))

  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log(`${signal} again: exiting now`)
      const exit = (): never => process.exit(130)
      const pending = relay ? deleteRelay(api, relay.uuid).catch(() => undefined) : Promise.resolve()
      const timer = setTimeout(exit, HARD_EXIT_DELETE_BUDGET_MS)
      void pending.then(exit, exit).finally(() => clearTimeout(timer))
      return
    }
    stopping = true
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
    process.stdin.on('data', () => undefined)
    process.stdin.resume()
  }

  const cookie = newCookie()
  const tunnel = new LegacyTunnelClient({
    forwards: options.mappings.map((m, i) => ({bind: options.bind, localPort: m.localPort, exposedPort: ports.exposedPorts[i] ?? 0, label: targetAddress(m.host, m.destPort)})),
    heartbeatMs: options.heartbeatMs,
    handshakeTimeoutMs: Math.min(HANDSHAKE_TIMEOUT_MS, options.connectMs),
    idleTimeoutMs: options.idleTimeoutMs,
    log,
  })

  try {
    progress('resolving targets')
    const resolved = await resolveMappings(api, options.mappings)
    const forwards = legacyForwards(resolved.map((m) => m.target), ports)
    const locals = await tunnel.listen().catch((error: NodeJS.ErrnoException) => {
      throw listenError(error, options.bind)
    })
    if (stopping) return 'interrupted'

    progress(`creating the relay instance (${options.image})`)
    relay = await createLegacyRelay(api, {image: options.image, cookie, controlPort: ports.controlPort, forwards})
    if (stopping) return 'interrupted'

    progress(`waiting for the relay ${relay.name} to run`)
    const deadline = Date.now() + options.connectMs
    const state = await waitForRelay(api, relay.uuid, options.connectMs, () => stopping)
    if (stopping) return 'interrupted'
    if (state !== 'running') throw new NetworkError(`the relay ${relay.name} is ${state}, not running, after ${Math.round(options.connectMs / 1000)} s`, `see its logs: ukc instance logs ${relay.name}`)

    progress(`connecting to the relay at ${relay.fqdn}:${ports.controlPort}`)
    try {
      await tunnel.connect({endpoint: legacyEndpoint(relay, options.target.local, options.target.ca), cookie, controlPort: ports.controlPort, relayName: relay.name}, Math.max(deadline - Date.now(), 1_000))
    } catch (error) {
      if (stopping) return 'interrupted'
      throw new NetworkError(`could not open the control connection to ${relay.fqdn}:${ports.controlPort}: ${(error as Error).message}`, `see its logs: ukc instance logs ${relay.name}`, error)
    }
    progress('')
    options.onReady({
      status: 'ready',
      relay: {uuid: relay.uuid, fqdn: relay.fqdn},
      mappings: locals.map((local, i) => ({local, target: resolved[i]?.label ?? ''})),
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
      process.stdin.destroy()
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
