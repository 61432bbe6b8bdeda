// Autoscale of a service (reference §2.4, §2.7): the configuration lives at `/services/autoscale`
// (batch, `service_groups`), its policies under `/services/{uuid}/autoscale/policies` (key `policies`).
import {type UkcClient, refOf} from './client.js'
import type {BatchResult} from './envelope.js'
import type {AutoscaleConfig, AutoscalePolicy, AutoscalePolicyItem, CreateAutoscaleRequest} from './types.js'

const KEY = 'service_groups'
const POLICY_KEY = 'policies'

export function createAutoscale(client: UkcClient, request: CreateAutoscaleRequest): Promise<BatchResult<AutoscaleConfig>> {
  return client.call<AutoscaleConfig>('POST', '/services/autoscale', KEY, {body: request})
}

/** The configurations of services (name or UUID); an unconfigured one answers `status: "unconfigured"`. */
export function getAutoscale(client: UkcClient, services: string[]): Promise<BatchResult<AutoscaleConfig>> {
  return client.call<AutoscaleConfig>('GET', '/services/autoscale', KEY, {body: services.map(refOf), idempotent: true})
}

/** Deletes the configurations: autoscale-created instances are drained and deleted, the master stays. */
export function deleteAutoscale(client: UkcClient, services: string[]): Promise<BatchResult<AutoscaleConfig>> {
  return client.call<AutoscaleConfig>('DELETE', '/services/autoscale', KEY, {body: services.map(refOf)})
}

function policiesPath(serviceUuid: string, name?: string): string {
  const base = `/services/${encodeURIComponent(serviceUuid)}/autoscale/policies`
  return name === undefined ? base : `${base}/${encodeURIComponent(name)}`
}

export function addAutoscalePolicy(client: UkcClient, serviceUuid: string, policy: AutoscalePolicy): Promise<BatchResult<AutoscalePolicyItem>> {
  return client.call<AutoscalePolicyItem>('POST', policiesPath(serviceUuid), POLICY_KEY, {body: policy})
}

export function getAutoscalePolicy(client: UkcClient, serviceUuid: string, name: string): Promise<BatchResult<AutoscalePolicyItem>> {
  return client.call<AutoscalePolicyItem>('GET', policiesPath(serviceUuid, name), POLICY_KEY, {idempotent: true})
}

export function deleteAutoscalePolicy(client: UkcClient, serviceUuid: string, name: string): Promise<BatchResult<AutoscalePolicyItem>> {
  return client.call<AutoscalePolicyItem>('DELETE', policiesPath(serviceUuid, name), POLICY_KEY)
}

/** The policies a policy item carries, whichever of the SDKs' shapes the API answered with. */
export function policiesOf(item: AutoscalePolicyItem): AutoscalePolicy[] {
  if (item.policies) return item.policies
  if (item.details) return [item.details]
  if (item.type === 'step') {
    return [{name: item.name ?? '', type: 'step', metric: item.metric ?? 'cpu', adjustment_type: item.adjustment_type ?? 'change', steps: item.steps ?? []}]
  }
  if (item.type === 'on_demand') return [{name: item.name ?? '', type: 'on_demand'}]
  return []
}
