// The relay as an API object, whatever its flavour: create it and learn its public FQDN, tell
// whether it still exists, delete it, and say where one of its public ports is reached (the local
// platform's gateway, or `<fqdn>:<port>` on real Unikraft Cloud).
import {
  type CreateInstanceRequest,
  NotFoundError,
  type UkcClient,
  allOrThrow,
  createInstance,
  deleteInstances,
  firstOrThrow,
  getInstances,
} from '../api/index.js'
import {gatewayEndpoint, type PlatformInfo, readPlatformInfo} from '../local/index.js'

export interface RelayInstance {
  uuid: string
  name: string
  fqdn: string
}

/** How this run reaches public endpoints: through the local platform (trusting its CA), or directly. */
export interface RelayReach {
  local?: PlatformInfo
  /** The local platform's CA (PEM); system roots otherwise. */
  ca?: string
}

/** Creates the relay and returns it with its public FQDN (a relay without one is deleted again). */
export async function createRelayInstance(client: UkcClient, request: CreateInstanceRequest, noFqdnHint: string): Promise<RelayInstance> {
  const created = firstOrThrow(await createInstance(client, request))
  let fqdn = created.service_group?.domains?.[0]?.fqdn
  if (!fqdn) {
    const [full] = allOrThrow(await getInstances(client, [created.uuid]))
    fqdn = full?.service_group?.domains?.[0]?.fqdn
  }
  if (!fqdn) {
    await deleteRelay(client, created.uuid)
    throw new NotFoundError('the relay instance got no public FQDN', noFqdnHint)
  }
  return {uuid: created.uuid, name: created.name, fqdn}
}

/** The relay's state ('running', 'stopped', …), or undefined when it no longer exists. */
export async function relayState(client: UkcClient, uuid: string): Promise<string | undefined> {
  const [instance] = (await getInstances(client, [uuid])).items
  if (!instance || instance.status === 'error') return undefined
  return instance.state ?? 'unknown'
}

/** Whether the relay still exists and is not stopped (it restarts itself after a crash). */
export async function relayAlive(client: UkcClient, uuid: string): Promise<boolean> {
  try {
    const state = await relayState(client, uuid)
    return state !== undefined && state !== 'stopped'
  } catch {
    return true // the API is unreachable: no reason to believe the relay is gone
  }
}

export async function deleteRelay(client: UkcClient, uuid: string): Promise<void> {
  await deleteInstances(client, [uuid])
}

/**
 * Where to dial the relay's public `port`: the local gateway's mapped port (platform.json is read
 * again: the gateway publishes a relay's ports when it is created), or `<fqdn>:<port>`.
 */
export function publicAddress(reach: RelayReach, fqdn: string, port: number): {host: string; port: number} {
  if (!reach.local) return {host: fqdn, port}
  const platform = readPlatformInfo(reach.local.dataDir) ?? reach.local
  const gateway = gatewayEndpoint(platform, port)
  if (!gateway) throw new NotFoundError(`the local platform publishes no port ${port}`, 'restart it with `ukc local stop && ukc local start`')
  return gateway
}
