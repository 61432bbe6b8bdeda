// The official relay as an instance: create it from the legacy request, wait until it runs (its
// control port only answers then), and say where each of its public ports is reached.
import {NotFoundError, type UkcClient, allOrThrow, createInstance, firstOrThrow, getInstances} from '../../api/index.js'
import {gatewayEndpoint, type PlatformInfo, readPlatformInfo} from '../../local/index.js'
import {deleteRelay, type RelayInstance} from '../relay-instance.js'
import type {LegacyEndpoint} from './handshake.js'
import type {LegacyForward} from './protocol.js'
import {legacyCreateRequest} from './request.js'

export async function createLegacyRelay(
  client: UkcClient,
  options: {image: string; cookie: string; controlPort: number; forwards: LegacyForward[]},
): Promise<RelayInstance> {
  const created = firstOrThrow(await createInstance(client, legacyCreateRequest(options)))
  let fqdn = created.service_group?.domains?.[0]?.fqdn
  if (!fqdn) {
    const [full] = allOrThrow(await getInstances(client, [created.uuid]))
    fqdn = full?.service_group?.domains?.[0]?.fqdn
  }
  if (!fqdn) {
    await deleteRelay(client, created.uuid)
    throw new NotFoundError('the relay instance got no public FQDN', `check that your account can publish services on ports ${[...options.forwards.map((f) => f.exposedPort), options.controlPort].join(', ')}`)
  }
  return {uuid: created.uuid, name: created.name, fqdn}
}

/** Polls until the relay is running; its state otherwise ('stopped', 'error', ...) when the deadline passes. */
export async function waitForRelay(client: UkcClient, uuid: string, timeoutMs: number, cancelled: () => boolean): Promise<string> {
  const deadline = Date.now() + timeoutMs
  let state = 'unknown'
  for (let delay = 50; !cancelled(); delay = Math.min(delay * 2, 1_000)) {
    const [instance] = allOrThrow(await getInstances(client, [uuid]))
    state = instance?.state ?? 'unknown'
    if (state === 'running' || Date.now() >= deadline) return state
    await new Promise((resolve) => setTimeout(resolve, Math.min(delay, Math.max(deadline - Date.now(), 0))))
  }
  return state
}

/**
 * `<fqdn>:<port>` with system roots, or the local gateway's mapped port with the platform's CA. Call
 * it after creating the relay: the gateway publishes the relay's ports then, and platform.json says
 * where they went.
 */
export function legacyEndpoint(relay: RelayInstance, platform?: PlatformInfo, ca?: string): LegacyEndpoint {
  if (!platform) return {fqdn: relay.fqdn, address: (port) => ({host: relay.fqdn, port})}
  const local = readPlatformInfo(platform.dataDir) ?? platform
  return {
    fqdn: relay.fqdn,
    ca,
    address: (port) => {
      const gateway = gatewayEndpoint(local, port)
      if (!gateway) throw new NotFoundError(`the local platform publishes no port ${port}`, 'restart it with `ukc local stop && ukc local start`')
      return gateway
    },
  }
}
