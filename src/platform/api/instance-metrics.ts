// GET /instances/metrics and /instances/{uuid}/metrics: per instance, the record's counters (starts,
// restarts, boot time, uptime) and what the platform measures (../metrics: CPU time and RSS of its
// processes, bytes in and out, connections and requests). JSON only (the Prometheus form is not
// served).
import type {InstanceMetrics} from '../../api/types.js'
import type {InstanceRecord, UserRecord} from '../types.js'
import type {ApiContext} from './context.js'
import {type EnvelopeBody, eachItem, envelope} from './envelope.js'
import {presentInstance} from './present.js'
import {lookup, refEntries} from './refs.js'

const KEY = 'instances'

export function presentMetrics(ctx: ApiContext, record: InstanceRecord): InstanceMetrics & {status: 'success'} {
  const instance = presentInstance(ctx, record)
  return {
    status: 'success',
    uuid: record.uuid,
    name: record.name,
    state: record.state,
    start_count: record.start_count,
    restart_count: record.restart_count,
    ...(record.started_at ? {started_at: record.started_at} : {}),
    ...(record.stopped_at ? {stopped_at: record.stopped_at} : {}),
    uptime_ms: instance.uptime_ms,
    boot_time_us: record.boot_time_us ?? 0,
    // Boot is measured up to the instance accepting connections: that is when its network is up too.
    net_time_us: record.boot_time_us ?? 0,
    ...ctx.meters.read(record),
  }
}

/** The named instances (`[{uuid}|{name}]`, `?uuid=`, `?name=`), or every one of the user's. */
export async function instanceMetrics(ctx: ApiContext, user: UserRecord, body: unknown, query: URLSearchParams): Promise<EnvelopeBody> {
  const entries = refEntries(body, query)
  if (!entries) return envelope(KEY, ctx.store.listInstances(user.uuid).map((r) => presentMetrics(ctx, r)))
  const items = await eachItem(entries, (e) => e, async (e) =>
    presentMetrics(ctx, lookup(e, 'instance', (uuid) => ctx.store.instance(uuid), (name) => ctx.store.instanceByName(user.uuid, name), user.uuid)),
  )
  return envelope(KEY, items)
}
