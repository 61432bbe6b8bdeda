// The relay as an API object: resolve the tunnel's targets, create the relay instance with a fresh
// token (only its SHA-256 goes into the instance args, which the API shows), find its public endpoint,
// and delete it. Used by `ukc tunnel`; the token itself never leaves this process.
import crypto from 'node:crypto'

import {
  type Instance,
  NotFoundError,
  type UkcClient,
  UsageError,
  allOrThrow,
  createInstance,
  deleteInstances,
  firstOrThrow,
  getInstances,
  isUuid,
} from '../api/index.js'
import {gatewayEndpoint, type PlatformInfo} from '../local/index.js'
import type {RelayEndpoint} from './client/relay-connection.js'
import type {TunnelMapping} from './mappings.js'
import {targetAddress} from './mappings.js'
import {hashToken} from './relay/auth.js'
import {RELAY_DEFAULT_PORT, relayArgs} from './relay/config.js'

export const DEFAULT_RELAY_IMAGE = 'ukc/tunnel-relay'

export interface ResolvedMapping extends TunnelMapping {
  /** "host:port" the relay dials (private IP or `*.internal`). */
  target: string
  /** "db:5432", as the user named it. */
  label: string
}

/** Instance names and UUIDs → private IPs (one list call); IPs and `*.internal` pass through. */
export async function resolveMappings(client: UkcClient, mappings: TunnelMapping[]): Promise<ResolvedMapping[]> {
  const named = mappings.filter((m) => m.kind === 'instance')
  let instances: Instance[] = []
  if (named.length > 0) instances = allOrThrow(await getInstances(client))
  return mappings.map((m) => {
    let host = m.host
    if (m.kind === 'instance') {
      const instance = instances.find((i) => (isUuid(m.host) ? i.uuid === m.host.toLowerCase() : i.name === m.host))
      if (!instance) throw new NotFoundError(`instance '${m.host}' not found`, 'list your instances with `ukc instance list`')
      if (!instance.private_ip) throw new UsageError(`instance '${m.host}' has no private IP`, 'tunnel to its private FQDN (<name>.internal) or IP instead')
      host = instance.private_ip
    }
    return {...m, target: targetAddress(host, m.destPort), label: targetAddress(m.host, m.destPort)}
  })
}

export interface RelayCredentials {
  token: string
  tokenHash: string
}

/** A fresh 256-bit token; the relay only ever sees its hash. */
export function newRelayCredentials(): RelayCredentials {
  const token = crypto.randomBytes(32).toString('base64url')
  return {token, tokenHash: hashToken(token)}
}

export interface RelayInstance {
  uuid: string
  name: string
  fqdn: string
}

export async function createRelay(
  client: UkcClient,
  options: {image: string; tokenHash: string; targets: string[]; heartbeatTimeoutMs: number; waitTimeoutMs?: number},
): Promise<RelayInstance> {
  const created = firstOrThrow(
    await createInstance(client, {
      image: options.image,
      args: relayArgs({tokenHash: options.tokenHash, allow: [...new Set(options.targets)], heartbeatTimeoutMs: options.heartbeatTimeoutMs}),
      memory_mb: 64,
      // Public only on 443 (http+tls): works where nothing but HTTPS leaves the network.
      service_group: {services: [{port: 443, destination_port: RELAY_DEFAULT_PORT, handlers: ['http', 'tls']}]},
      autostart: true,
      wait_timeout_ms: options.waitTimeoutMs ?? 10_000,
      // A crash restarts it; a clean exit (heartbeat lost) stops it and delete-on-stop removes it.
      restart_policy: 'on-failure',
      features: ['delete-on-stop'],
    }),
  )
  let fqdn = created.service_group?.domains?.[0]?.fqdn
  if (!fqdn) {
    const [full] = allOrThrow(await getInstances(client, [created.uuid]))
    fqdn = full?.service_group?.domains?.[0]?.fqdn
  }
  if (!fqdn) {
    await deleteRelay(client, created.uuid)
    throw new NotFoundError('the relay instance got no public FQDN', 'check that your account can publish services on port 443')
  }
  return {uuid: created.uuid, name: created.name, fqdn}
}

/** Whether the relay still exists and is not stopped (it restarts itself after a crash). */
export async function relayAlive(client: UkcClient, uuid: string): Promise<boolean> {
  try {
    const [instance] = (await getInstances(client, [uuid])).items
    return Boolean(instance && instance.status !== 'error' && instance.state !== 'stopped')
  } catch {
    return true // the API is unreachable: no reason to believe the relay is gone
  }
}

export async function deleteRelay(client: UkcClient, uuid: string): Promise<void> {
  await deleteInstances(client, [uuid])
}

/** Where to open the WebSocket: the local gateway (trusting its CA) or `<fqdn>:443` with system roots. */
export function relayEndpoint(relay: RelayInstance, token: string, local?: PlatformInfo, ca?: string): RelayEndpoint {
  if (local) {
    const gateway = gatewayEndpoint(local, 443)
    if (!gateway) throw new NotFoundError('the local platform publishes no port 443', 'restart it with `ukc local stop && ukc local start`')
    return {url: `wss://${relay.fqdn}:${gateway.port}/`, connectHost: gateway.host, ca, token}
  }
  return {url: `wss://${relay.fqdn}/`, token}
}
