// An instance's live numbers, from where they are: CPU time and RSS of its processes (procfs,
// process-tree.ts), bytes in and out (traffic.ts), connections and requests (the runtime's one
// connection count per instance, and the gateway's in-flight count). The API's metrics endpoint and
// the autoscaler read them here.
//
// CPU time adds up over the instance's starts: a run's last reading is kept when the next run (a new
// pid) or a stop is seen. Readings happen when someone asks (GET /instances/metrics, the autoscaler's
// ticks) and when the instance changes state (the daemon reads as it leaves running, while its
// processes still exist), never on a timer of their own: what a process used after its last reading
// (its shutdown, or up to a crash) is not counted.
import type {InstanceRecord} from '../types.js'
import {treeUsage} from './process-tree.js'
import type {TrafficMeter} from './traffic.js'

export interface MeterSources {
  /** The runtime's connection count of the instance (connections and requests through the platform). */
  connections(uuid: string): {open: number; total: number; queued: number}
  /** The gateway's in-flight connections and requests on the instance. */
  gatewayLoad(uuid: string): number
  /** The part of gatewayLoad that is HTTP requests. */
  gatewayRequests(uuid: string): number
  traffic: TrafficMeter
}

/** The measured part of the API's InstanceMetrics (the rest comes from the record). */
export interface MeterReading {
  cpu_time_ms: number
  rss_bytes: number
  rx_bytes: number
  tx_bytes: number
  /** Established connections (non-HTTP): private endpoints, raw TLS ports, upgrades. */
  nconns: number
  /** HTTP requests in flight through the gateway. */
  nreqs: number
  /** Connections and requests held while the instance boots or wakes. */
  nqueued: number
  /** Connections and requests handled since the platform started. */
  ntotal: number
}

interface CpuAccount {
  /** The pid of the run last read (undefined: none running then). */
  pid?: number
  /** CPU time of that run at its last reading. */
  runMs: number
  /** CPU time of the runs before it. */
  earlierMs: number
}

export class InstanceMeters {
  private readonly cpu = new Map<string, CpuAccount>()

  constructor(private readonly sources: MeterSources) {}

  read(record: InstanceRecord): MeterReading {
    const usage = treeUsage(record.pid)
    const connections = this.sources.connections(record.uuid)
    const traffic = this.sources.traffic.read(record.uuid)
    const nreqs = this.sources.gatewayRequests(record.uuid)
    return {
      cpu_time_ms: this.account(record, usage.processes > 0 ? usage.cpuMs : undefined),
      rss_bytes: usage.rssBytes,
      rx_bytes: traffic.rxBytes,
      tx_bytes: traffic.txBytes,
      nconns: Math.max(0, connections.open - nreqs),
      nreqs,
      nqueued: connections.queued,
      ntotal: connections.total,
    }
  }

  /** CPU time over all of the instance's runs, in ms (what `read` reports as cpu_time_ms). */
  cpuMs(record: InstanceRecord): number {
    const usage = treeUsage(record.pid)
    return this.account(record, usage.processes > 0 ? usage.cpuMs : undefined)
  }

  /** Connections and requests the gateway has in flight on the instance (the autoscaler's inflight_reqs). */
  inflight(uuid: string): number {
    return this.sources.gatewayLoad(uuid)
  }

  /** The instance is deleted. */
  forget(uuid: string): void {
    this.cpu.delete(uuid)
    this.sources.traffic.forget(uuid)
  }

  private account(record: InstanceRecord, runMs: number | undefined): number {
    let account = this.cpu.get(record.uuid)
    if (!account) this.cpu.set(record.uuid, (account = {runMs: 0, earlierMs: 0}))
    const pid = runMs === undefined ? undefined : record.pid
    if (pid !== account.pid) {
      account.earlierMs += account.runMs
      account.runMs = 0
      account.pid = pid
    }
    // A run's CPU time never goes back (a process of the tree that ends takes its own with it
    // unless its parent reaped it): keep the largest reading.
    if (runMs !== undefined) account.runMs = Math.max(account.runMs, runMs)
    return account.earlierMs + account.runMs
  }
}
