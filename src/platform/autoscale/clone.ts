// What an autoscale clone of a master is: the one place that says which of the master's properties
// a clone gets. It runs the same image with the same args, env, memory, vCPUs, restart policy,
// scale-to-zero and features, in the same service (so the gateway balances across it), under a name
// and private address of its own. It gets none of the master's volumes: a volume is attached to one
// instance at a time (autoscale init refuses a master that has any, see api/autoscale-spec.ts).
import crypto from 'node:crypto'

import type {InstanceRecord} from '../types.js'

/** The largest name the API accepts is 63 characters; the clone's suffix is `-` and 5 characters. */
const NAME_ROOM = 63 - 6

export function cloneName(master: InstanceRecord, suffix: string): string {
  return `${master.name.slice(0, NAME_ROOM).replace(/[-.]+$/, '')}-${suffix}`
}

export function cloneOf(master: InstanceRecord, name: string, addresses: {private_ip: string; backend_ip: string}): InstanceRecord {
  return {
    uuid: crypto.randomUUID(),
    name,
    user: master.user,
    image: master.image,
    args: master.args,
    env: master.env,
    memory_mb: master.memory_mb,
    vcpus: master.vcpus,
    restart_policy: master.restart_policy,
    scale_to_zero: master.scale_to_zero,
    features: master.features,
    ...addresses,
    ports: master.ports,
    ...(master.service_uuid ? {service_uuid: master.service_uuid} : {}),
    volumes: [],
    state: 'stopped',
    desired: 'running',
    created_at: new Date().toISOString(),
    start_count: 0,
    restart_count: 0,
    restart_attempt: 0,
    clone_of: master.uuid,
  }
}
