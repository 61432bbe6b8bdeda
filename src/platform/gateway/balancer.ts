// Least-connections across a service's instances, counting what the gateway itself has in flight
// (connections in TCP mode, requests in HTTP mode), with the service's soft and hard limits.
import type net from 'node:net'

import type {BackendAddress, ConnectionTracker, GatewayRoute, InstanceState} from '../types.js'

/** Why the gateway could not hand a connection to an instance. */
export type RefusalReason = 'no-service' | 'hard-limit' | 'unavailable'

export class GatewayRefusal extends Error {
  constructor(
    readonly reason: RefusalReason,
    message: string,
  ) {
    super(message)
    this.name = 'GatewayRefusal'
  }
}

/** How often at most a connection reports activity to the tracker (it only needs to beat the cooldown). */
const ACTIVITY_INTERVAL_MS = 100

/** What a lease holds: an HTTP request (HTTP mode) or a connection (TCP mode, upgrades). */
export type LeaseKind = 'request' | 'connection'

/** One connection or request held on an instance; release it exactly once when it ends. */
export class InstanceLease {
  private lastActivity = 0
  private released = false

  constructor(
    private readonly balancer: Balancer,
    readonly uuid: string,
    readonly backend: BackendAddress,
    readonly kind: LeaseKind,
  ) {}

  /** `socket` goes to the instance: its bytes count in the instance's metrics. */
  meter(socket: net.Socket): void {
    this.balancer.tracker.meter?.(this.uuid, socket)
  }

  /** Bytes moved: tell the tracker, at most every ACTIVITY_INTERVAL_MS. */
  activity(): void {
    const now = Date.now()
    if (now - this.lastActivity < ACTIVITY_INTERVAL_MS) return
    this.lastActivity = now
    this.balancer.tracker.activity(this.uuid)
  }

  release(): void {
    if (this.released) return
    this.released = true
    this.balancer.end(this.uuid, true, this.kind)
  }
}

const LIVE: ReadonlySet<InstanceState> = new Set(['running', 'starting'])

export class Balancer {
  private readonly inFlight = new Map<string, number>()
  /** The part of inFlight that is HTTP requests (the metrics' nreqs). */
  private readonly requestsInFlight = new Map<string, number>()
  /** Rotates the starting point among equally loaded instances, so sequential requests spread. */
  private turn = 0

  constructor(readonly tracker: ConnectionTracker) {}

  /** Connections/requests the gateway has open (or opening) on an instance. */
  load(uuid: string): number {
    return this.inFlight.get(uuid) ?? 0
  }

  /** HTTP requests in flight on an instance (part of `load`). */
  requests(uuid: string): number {
    return this.requestsInFlight.get(uuid) ?? 0
  }

  /**
   * Picks an instance of `route`, opens a connection on it through the tracker (which may hold while a
   * standby instance wakes) and returns the lease. Another instance is tried when the tracker refuses one.
   */
  async acquire(route: GatewayRoute, destinationPort: number, kind: LeaseKind = 'connection'): Promise<InstanceLease> {
    // Only a refused open needs the set of instances tried; the common path allocates none.
    let refused: Set<string> | undefined
    let lastError: unknown
    for (;;) {
      const uuid = this.pick(route, refused)
      if (uuid === undefined) {
        if (lastError !== undefined) throw new GatewayRefusal('unavailable', `instance unavailable: ${(lastError as Error).message}`)
        throw hasCandidates(route)
          ? new GatewayRefusal('hard-limit', 'every instance of the service is at its hard limit')
          : new GatewayRefusal('no-service', 'no instance can take connections')
      }
      this.inFlight.set(uuid, this.load(uuid) + 1)
      if (kind === 'request') this.requestsInFlight.set(uuid, this.requests(uuid) + 1)
      try {
        const backend = await this.tracker.open(uuid, destinationPort, 'public')
        return new InstanceLease(this, uuid, backend, kind)
      } catch (error) {
        this.end(uuid, false, kind)
        lastError = error
        refused ??= new Set()
        refused.add(uuid)
      }
    }
  }

  /** Called by InstanceLease.release and for opens the tracker refused (then without tracker.close). */
  end(uuid: string, opened: boolean, kind: LeaseKind): void {
    const load = this.load(uuid) - 1
    if (load > 0) this.inFlight.set(uuid, load)
    else this.inFlight.delete(uuid)
    if (kind === 'request') {
      const requests = this.requests(uuid) - 1
      if (requests > 0) this.requestsInFlight.set(uuid, requests)
      else this.requestsInFlight.delete(uuid)
    }
    if (opened) this.tracker.close(uuid)
  }

  /**
   * Running instances under the soft limit first (fewest in flight); when all reached it, a standby
   * instance (opening it wakes it); then the least loaded under the hard limit; else none.
   */
  pick(route: GatewayRoute, exclude?: ReadonlySet<string>): string | undefined {
    const instances = route.instances
    const count = instances.length
    if (count === 0) return undefined
    const start = this.turn++ % count
    let underSoft: string | undefined
    let underSoftLoad = Infinity
    let standby: string | undefined
    let standbyLoad = Infinity
    let underHard: string | undefined
    let underHardLoad = Infinity
    for (let i = 0; i < count; i++) {
      const instance = instances[(start + i) % count]!
      if (exclude?.has(instance.uuid)) continue
      const live = LIVE.has(instance.state)
      if (!live && instance.state !== 'standby') continue
      const load = this.load(instance.uuid)
      if (load >= route.hardLimit) continue
      if (live && load < route.softLimit && load < underSoftLoad) {
        underSoft = instance.uuid
        underSoftLoad = load
      }
      if (!live && load < route.softLimit && load < standbyLoad) {
        standby = instance.uuid
        standbyLoad = load
      }
      if (load < underHardLoad) {
        underHard = instance.uuid
        underHardLoad = load
      }
    }
    return underSoft ?? standby ?? underHard
  }
}

function hasCandidates(route: GatewayRoute): boolean {
  return route.instances.some((i) => LIVE.has(i.state) || i.state === 'standby')
}
