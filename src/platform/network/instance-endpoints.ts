// The private endpoints of one instance: one per port, opened together (all or none), told to stop
// accepting together (drain), closed together. Their owner is the instance's supervisor. Where the
// kernel enforces the private network (isolation/loopback-firewall.ts), opening them also admits the
// instance's addresses for its user's uid, and closing them takes that back. Where the kernel also
// forwards (`forward`, while the instance runs), new connections to the private IP skip the endpoints
// and go straight to the backend; the endpoints then carry only what arrives while the instance is
// not running (a wake) and the moments between; `forwardedConnections` counts the rest from the kernel.
import type {ConnectionTracker, Logger} from '../types.js'
import {kernelForwardedConnections} from './kernel-connections.js'
import {PrivateEndpoint} from './private-endpoint.js'

/** The kernel's side of the private network (isolation/loopback-firewall.ts). */
export interface AddressAdmission {
  admit(instance: string, admission: {uid: number; addresses: string[]}): Promise<void>
  revoke(instance: string): Promise<void>
  /** `forward` sends connections to the backend in the kernel (else it does nothing). */
  readonly forwarding: boolean
  forward(instance: string, routes: Array<{from: {host: string; port: number}; to: {host: string; port: number}}>): Promise<void>
  unforward(instance: string): Promise<void>
  /** New connections forwarded for `instance` since its routes were added. */
  forwardedTotal(instance: string): Promise<number>
}

export interface InstanceEndpointsOptions {
  instanceUuid: string
  /** User network index of the instance (other networks are refused). */
  networkIndex: number
  /** The instance's private IP. */
  host: string
  tracker: ConnectionTracker
  log: Logger
  /** With a firewall: the uid of the instance's user and the addresses it may reach (private and backend IP). */
  admission?: {firewall: AddressAdmission; uid: number; addresses: string[]}
}

export interface EndpointPort {
  /** The instance port (what the tracker is asked for). */
  port: number
  /** Where the endpoint listens (the port, or its unprivileged substitute). */
  listenPort: number
}

export class InstanceEndpoints {
  private endpoints: PrivateEndpoint[] = []
  private ports: EndpointPort[] = []
  private admission: Promise<void> = Promise.resolve()
  private forwardedOnce = false

  constructor(private readonly options: InstanceEndpointsOptions) {}

  get isOpen(): boolean {
    return this.endpoints.length > 0
  }

  /**
   * Settles once the user's instances may reach this one through the kernel's rules (at once when
   * there are none); rejects with the firewall's error. Started by `open`, awaited with readiness.
   */
  get admitted(): Promise<void> {
    return this.admission
  }

  /**
   * Listens on every port; an address still in use is retried for `retryForMs` (a previous platform
   * going away). On failure nothing stays open and the error names the address.
   */
  async open(ports: EndpointPort[], retryForMs: number): Promise<void> {
    for (const {port, listenPort} of ports) {
      const endpoint = new PrivateEndpoint({...this.options, port, listenPort})
      try {
        await endpoint.listen(retryForMs)
      } catch (error) {
        this.close()
        throw new Error(`cannot open the private endpoint ${endpoint.address}: ${(error as Error).message}`)
      }
      this.endpoints.push(endpoint)
    }
    this.ports = ports
    const admission = this.options.admission
    if (admission) {
      this.admission = admission.firewall.admit(this.options.instanceUuid, {uid: admission.uid, addresses: admission.addresses})
      this.admission.catch(() => {}) // the boot awaits it and reports the error
    }
  }

  /** True when the kernel can forward this instance's connections (root, nft, forwarding on). */
  get canForward(): boolean {
    return this.options.admission?.firewall.forwarding === true
  }

  /**
   * New connections to the private IP go straight to the backend (`backend(port)` for each instance
   * port) in the kernel, from when the rule is applied (the endpoints take them until then). No-op
   * without kernel forwarding or open endpoints.
   */
  forward(backend: (port: number) => {host: string; port: number}): void {
    const admission = this.options.admission
    if (!admission || !this.canForward || !this.isOpen) return
    this.forwardedOnce = true
    const routes = this.ports.map(({port, listenPort}) => ({from: {host: this.options.host, port: listenPort}, to: backend(port)}))
    admission.firewall.forward(this.options.instanceUuid, routes).catch((error: Error) => this.options.log(`instance ${this.options.instanceUuid}: kernel forwarding: ${error.message}`))
  }

  /** New connections go to the endpoints again; resolves once the kernel applied it (established ones continue). */
  async unforward(): Promise<void> {
    if (!this.options.admission || !this.canForward) return
    await this.options.admission.firewall.unforward(this.options.instanceUuid).catch((error: Error) => this.options.log(`instance ${this.options.instanceUuid}: kernel forwarding: ${error.message}`))
  }

  /** Connections the kernel forwarded that are open now (0 without forwarding; reads procfs). */
  forwardedConnections(): number {
    if (!this.forwardedOnce || this.ports.length === 0) return 0
    return kernelForwardedConnections(this.options.host, this.ports.map((p) => p.listenPort))
  }

  /** For scale-to-zero: forwarded connections open now, and forwarded since `forward`. */
  async forwardedReading(): Promise<{open: number; total: number}> {
    const total = (await this.options.admission?.firewall.forwardedTotal(this.options.instanceUuid)) ?? 0
    return {open: this.forwardedConnections(), total}
  }

  /** Drain: no new connections; established ones continue. */
  stopAccepting(): void {
    void this.unforward()
    for (const endpoint of this.endpoints) endpoint.stopAccepting()
  }

  /** Stops accepting and resets every connection still open. */
  close(): void {
    const wasOpen = this.isOpen
    for (const endpoint of this.endpoints) endpoint.close()
    this.endpoints = []
    if (wasOpen && this.options.admission) {
      this.admission = Promise.resolve()
      void this.unforward()
      this.options.admission.firewall.revoke(this.options.instanceUuid).catch((error: Error) => this.options.log(`instance ${this.options.instanceUuid}: ${error.message}`))
    }
  }
}
