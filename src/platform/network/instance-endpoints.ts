// The private endpoints of one instance: one per port, opened together (all or none), told to stop
// accepting together (drain), closed together. Their owner is the instance's supervisor.
import type {ConnectionTracker, Logger} from '../types.js'
import {PrivateEndpoint} from './private-endpoint.js'

export interface InstanceEndpointsOptions {
  instanceUuid: string
  /** User network index of the instance (other networks are refused). */
  networkIndex: number
  /** The instance's private IP. */
  host: string
  tracker: ConnectionTracker
  log: Logger
}

export interface EndpointPort {
  /** The instance port (what the tracker is asked for). */
  port: number
  /** Where the endpoint listens (the port, or its unprivileged substitute). */
  listenPort: number
}

export class InstanceEndpoints {
  private endpoints: PrivateEndpoint[] = []

  constructor(private readonly options: InstanceEndpointsOptions) {}

  get isOpen(): boolean {
    return this.endpoints.length > 0
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
  }

  /** Drain: no new connections; established ones continue. */
  stopAccepting(): void {
    for (const endpoint of this.endpoints) endpoint.stopAccepting()
  }

  /** Stops accepting and resets every connection still open. */
  close(): void {
    for (const endpoint of this.endpoints) endpoint.close()
    this.endpoints = []
  }
}
