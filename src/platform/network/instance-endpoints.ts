// The private endpoints of one instance: one per port, opened together (all or none), told to stop
// accepting together (drain), closed together. Their owner is the instance's supervisor. Where the
// kernel enforces the private network (isolation/loopback-firewall.ts), opening them also admits the
// instance's addresses for its user's uid, and closing them takes that back.
import type {ConnectionTracker, Logger} from '../types.js'
import {PrivateEndpoint} from './private-endpoint.js'

/** The kernel's side of the private network (isolation/loopback-firewall.ts). */
export interface AddressAdmission {
  admit(instance: string, admission: {uid: number; addresses: string[]}): Promise<void>
  revoke(instance: string): Promise<void>
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
  private admission: Promise<void> = Promise.resolve()

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
    const admission = this.options.admission
    if (admission) {
      this.admission = admission.firewall.admit(this.options.instanceUuid, {uid: admission.uid, addresses: admission.addresses})
      this.admission.catch(() => {}) // the boot awaits it and reports the error
    }
  }

  /** Drain: no new connections; established ones continue. */
  stopAccepting(): void {
    for (const endpoint of this.endpoints) endpoint.stopAccepting()
  }

  /** Stops accepting and resets every connection still open. */
  close(): void {
    const wasOpen = this.isOpen
    for (const endpoint of this.endpoints) endpoint.close()
    this.endpoints = []
    if (wasOpen && this.options.admission) {
      this.admission = Promise.resolve()
      this.options.admission.firewall.revoke(this.options.instanceUuid).catch((error: Error) => this.options.log(`instance ${this.options.instanceUuid}: ${error.message}`))
    }
  }
}
