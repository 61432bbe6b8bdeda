// One run of `ukc tunnel` in legacy mode (the official `utils/tunnel` relay): bind the listeners, resolve
// targets, create the relay with a fresh cookie, wait until it runs, open the control connection,
// announce readiness, serve until Ctrl-C/SIGTERM, drain, and delete the relay — like the modern path.
import {NetworkError} from '../../api/index.js'
import type {OpenTunnelOptions} from '../cli-session.js'
import {targetAddress} from '../mappings.js'
import {resolveMappings} from '../relay-instance.js'
import {RunControl, listenError} from '../run-control.js'
import {newCookie} from './protocol.js'
import {createLegacyRelay, legacyEndpoint, waitForRelay} from './relay-instance.js'
import {legacyForwards, legacyPorts} from './request.js'
import {LegacyTunnelClient} from './tunnel-client.js'

const HANDSHAKE_TIMEOUT_MS = 10_000

export async function openLegacyTunnel(options: OpenTunnelOptions): Promise<'interrupted'> {
  const {api, log, progress} = options
  const ports = legacyPorts(options.mappings.length, options.proxyPorts, options.controlPort)
  const control = new RunControl({api, log, signals: options.signals ?? ['SIGINT', 'SIGTERM'], watchStdin: options.watchStdin})

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
    if (control.stopping) return 'interrupted'

    progress(`creating the relay instance (${options.image})`)
    const relay = await createLegacyRelay(api, {image: options.image, cookie, controlPort: ports.controlPort, forwards})
    control.relay = relay
    if (control.stopping) return 'interrupted'

    progress(`waiting for the relay ${relay.name} to run`)
    const deadline = Date.now() + options.connectMs
    const state = await waitForRelay(api, relay.uuid, options.connectMs, () => control.stopping)
    if (control.stopping) return 'interrupted'
    if (state !== 'running') throw new NetworkError(`the relay ${relay.name} is ${state}, not running, after ${Math.round(options.connectMs / 1000)} s`, `see its logs: ukc instance logs ${relay.name}`)

    progress(`connecting to the relay at ${relay.fqdn}:${ports.controlPort}`)
    try {
      await tunnel.connect({endpoint: legacyEndpoint(relay, options.target.local, options.target.ca), cookie, controlPort: ports.controlPort, relayName: relay.name}, Math.max(deadline - Date.now(), 1_000))
    } catch (error) {
      if (control.stopping) return 'interrupted'
      throw new NetworkError(`could not open the control connection to ${relay.fqdn}:${ports.controlPort}: ${(error as Error).message}`, `see its logs: ukc instance logs ${relay.name}`, error)
    }
    progress('')
    options.onReady({
      status: 'ready',
      relay: {uuid: relay.uuid, fqdn: relay.fqdn},
      mappings: locals.map((local, i) => ({local, target: resolved[i]?.label ?? ''})),
    })
    return await control.serveUntilStopped(tunnel, options.drainMs)
  } finally {
    progress('')
    await tunnel.close(0)
    await control.finish(progress)
  }
}
