// The official relay (`official/utils/tunnel`) as a flavour of the run loop: created from kraft's
// request with a fresh cookie, waited for until it runs (its control port only answers then), then
// reached through a control connection and one TLS connection per local connection.
import {NetworkError, type UkcClient} from '../../api/index.js'
import {Backoff, pause} from '../backoff.js'
import type {ResolvedMapping} from '../mappings.js'
import {type RelayInstance, type RelayReach, createRelayInstance, publicAddress, relayState} from '../relay-instance.js'
import type {OpenRelay, RelayFlavour} from '../relay-link.js'
import type {LegacyEndpoint} from './handshake.js'
import {LegacyLink} from './link.js'
import {newCookie} from './protocol.js'
import {type LegacyPorts, legacyCreateRequest, legacyForwards, legacyPorts} from './request.js'

/** Each TLS dial and cookie exchange gets this long (or --connect-timeout when shorter). */
const HANDSHAKE_TIMEOUT_MS = 10_000

/** Polls until the relay runs; its last state otherwise ('stopped', 'error', gone …) when the deadline passes or `signal` aborts. */
export async function waitForRelay(client: UkcClient, uuid: string, timeoutMs: number, signal?: AbortSignal): Promise<string> {
  const deadline = Date.now() + timeoutMs
  const backoff = new Backoff({firstMs: 50, maxMs: 1_000})
  let state = 'unknown'
  while (!signal?.aborted) {
    state = (await relayState(client, uuid)) ?? 'gone'
    if (state === 'running' || Date.now() >= deadline) return state
    await pause(Math.min(backoff.next(), Math.max(deadline - Date.now(), 0)), signal)
  }
  return state
}

/** `<fqdn>:<port>` with system roots, or the local gateway's mapped port with the platform's CA. */
export function legacyEndpoint(relay: RelayInstance, reach: RelayReach): LegacyEndpoint {
  return {fqdn: relay.fqdn, ca: reach.ca, address: (port) => publicAddress(reach, relay.fqdn, port)}
}

export interface LegacyFlavourOptions {
  api: UkcClient
  reach: RelayReach
  image: string
  /** The mappings' count, for the ports of -p/-P (checked before anything is created). */
  mappings: number
  proxyPorts?: number[]
  controlPort?: number
  heartbeatMs: number
  connectMs: number
  progress: (text: string) => void
  log: (line: string) => void
}

export class LegacyFlavour implements RelayFlavour {
  private readonly ports: LegacyPorts

  constructor(private readonly options: LegacyFlavourOptions) {
    this.ports = legacyPorts(options.mappings, options.proxyPorts, options.controlPort)
  }

  async open(targets: ResolvedMapping[]): Promise<OpenRelay> {
    const {api, reach, image, progress, log} = this.options
    const {controlPort, exposedPorts} = this.ports
    const cookie = newCookie()
    const forwards = legacyForwards(targets.map((t) => t.target), this.ports)
    progress(`creating the relay instance (${image})`)
    const request = legacyCreateRequest({image, cookie, controlPort, forwards})
    const relay = await createRelayInstance(api, request, `check that your account can publish services on ports ${[...exposedPorts, controlPort].join(', ')}`)
    const link = new LegacyLink({
      endpoint: legacyEndpoint(relay, reach),
      cookie,
      controlPort,
      relayName: relay.name,
      forwards: targets.map((t, i) => ({exposedPort: exposedPorts[i] ?? 0, label: t.label})),
      heartbeatMs: this.options.heartbeatMs,
      handshakeTimeoutMs: Math.min(HANDSHAKE_TIMEOUT_MS, this.options.connectMs),
      log,
    })
    return {
      relay,
      image,
      carry: (socket, index) => link.carry(socket, index),
      close: () => link.close(),
      connect: async ({deadlineMs, signal}) => {
        const deadline = Date.now() + deadlineMs
        progress(`waiting for the relay ${relay.name} to run`)
        const state = await waitForRelay(api, relay.uuid, deadlineMs, signal)
        if (signal.aborted) return
        if (state !== 'running') throw new NetworkError(`the relay ${relay.name} is ${state}, not running, after ${Math.round(deadlineMs / 1000)} s`, `see its logs: ukc instance logs ${relay.name}`)
        progress(`connecting to the relay at ${relay.fqdn}:${controlPort}`)
        try {
          await link.connect({deadlineMs: Math.max(deadline - Date.now(), 1_000), signal})
        } catch (error) {
          if (signal.aborted) return
          throw new NetworkError(`could not open the control connection to ${relay.fqdn}:${controlPort}: ${(error as Error).message}`, `see its logs: ukc instance logs ${relay.name}`, error)
        }
      },
    }
  }
}
