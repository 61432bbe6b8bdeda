// The autoscaler: every tick, for each service with an autoscale configuration, it measures the
// group (the master and its clones), asks decision.ts for the size the group should have, and
// creates clones (clone.ts) or drains and deletes them. The master is never removed. Deleting the
// configuration, or the master, resets the group: the clones are drained (at most the cool-down) and
// deleted. Work on one group never overlaps: a tick skips a group whose previous action still runs.
//
// Metrics (decision.ts has the arithmetic): `cpu` — the average CPU use of the group's counted
// instances in millicores (1000 = one core busy), from their CPU time in procfs between two ticks;
// `inflight_reqs` — the sum of what the gateway has in flight on them (requests in HTTP mode,
// connections in TCP mode). An instance counts once it has run for the warm-up time; stopped,
// standby and warming instances do not.
import type {Store} from '../store/index.js'
import type {AutoscaleRecord, InstanceRecord, Logger, ServiceRecord} from '../types.js'
import {randomSuffix} from '../api/names.js'
import {cloneName, cloneOf} from './clone.js'
import {type MetricValues, desiredSize} from './decision.js'

/** How often the autoscaler decides, unless told otherwise. */
export const DEFAULT_TICK_MS = 500

export interface AutoscalerOptions {
  store: Store
  runtime: {
    start(uuid: string): Promise<void>
    stop(uuid: string, options: {force: boolean; drainTimeoutMs: number; reason: 'user' | 'platform'}): Promise<void>
    refreshNames(userUuid: string): void
  }
  meters: {cpuMs(record: InstanceRecord): number; inflight(uuid: string): number}
  /** The API's delete of an instance (its record, an orphaned implicit service, names). */
  remove(record: InstanceRecord): Promise<void>
  /** The most instances a user may have (the quota clones count against). */
  maxInstances: number
  log: Logger
  tickMs?: number
}

interface Group {
  /** When the group last changed size (Date.now()); scale-in waits a cool-down after it. */
  lastScaleAt: number
  /** Each counted instance's CPU time at the previous tick. */
  cpu: Map<string, {at: number; ms: number}>
  /** Clones being drained and deleted (no longer part of the group's size). */
  retiring: Set<string>
  /** The decision in progress: the next waits for it, and so does a reset. */
  deciding?: Promise<void>
  /** The last problem logged, so that a clone that cannot be made is not logged every tick. */
  problem?: string
}

export class Autoscaler {
  private readonly groups = new Map<string, Group>()
  /** Deletions of clones in progress (drains are not waited for: the runtime's shutdown ends them). */
  private readonly removals = new Set<Promise<void>>()
  private timer: NodeJS.Timeout | undefined
  private ticking: Promise<void> | undefined
  private closed = false

  constructor(private readonly options: AutoscalerOptions) {}

  /**
   * At platform start, before instances are brought back: clones whose configuration is gone (a
   * reset the previous daemon did not finish) are deleted; configured groups resume.
   */
  async restore(): Promise<void> {
    const {store} = this.options
    for (const record of store.listInstances()) {
      if (record.clone_of === undefined) continue
      const service = record.service_uuid ? store.service(record.service_uuid) : undefined
      if (service?.autoscale?.master !== record.clone_of) await this.options.remove(record)
    }
    this.schedule()
  }

  /** A configuration was created: start deciding for it (the first tick brings it to min_size). */
  configured(serviceUuid: string): void {
    this.groupOf(serviceUuid).lastScaleAt = Date.now()
    this.schedule()
  }

  /**
   * Deletes the service's configuration and drains and deletes its clones (in the background, each at
   * most the cool-down); with `startMaster`, a stopped master is started (DELETE /services/autoscale).
   */
  async reset(service: ServiceRecord, options: {startMaster: boolean}): Promise<void> {
    const group = this.groupOf(service.uuid)
    await group.deciding
    return this.resetNow(service, group, options)
  }

  private async resetNow(service: ServiceRecord, group: Group, options: {startMaster: boolean}): Promise<void> {
    const {store, runtime} = this.options
    const current = store.service(service.uuid) ?? service
    const config = current.autoscale
    if (!config) return
    const {autoscale: _dropped, ...rest} = current
    store.setService(rest)
    await store.flush()
    for (const clone of this.clonesOf(service.uuid, config.master)) this.retire(group, clone, config.cooldown_time_ms)
    this.schedule()
    const master = store.instance(config.master)
    if (options.startMaster && master && master.state === 'stopped') {
      await store.updateInstance(master.uuid, {desired: 'running'})
      runtime.start(master.uuid).catch((error: Error) => this.options.log(`autoscale: start of master ${master.name} failed: ${error.message}`))
    }
  }

  /** An instance is being deleted: if it is a master, its service's autoscale is reset (§2.4). */
  async instanceRemoved(record: InstanceRecord): Promise<void> {
    const service = record.service_uuid ? this.options.store.service(record.service_uuid) : undefined
    if (service?.autoscale?.master === record.uuid) await this.reset(service, {startMaster: false})
  }

  /**
   * Stops deciding (after the tick in progress) and waits for deletions in progress. Clones still
   * draining are not deleted: the platform's shutdown stops them; after the next start they are
   * members of their group again (scaled in if it does not need them), or deleted by `restore` when
   * their configuration is gone.
   */
  async close(): Promise<void> {
    this.closed = true
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    await this.ticking
    await Promise.allSettled([...this.removals])
  }

  // ----

  /** Ticks while some service has a configuration or clones are still being retired. */
  private schedule(): void {
    if (this.closed) return
    const wanted = this.options.store.listServices().some((s) => s.autoscale)
    if (wanted && !this.timer) {
      this.timer = setInterval(() => this.tick(), this.options.tickMs ?? DEFAULT_TICK_MS)
      this.timer.unref()
    } else if (!wanted && this.timer) {
      clearInterval(this.timer)
      this.timer = undefined
    }
  }

  private tick(): void {
    if (this.ticking || this.closed) return
    this.ticking = this.decide().finally(() => {
      this.ticking = undefined
    })
  }

  private async decide(): Promise<void> {
    for (const service of this.options.store.listServices()) {
      const config = service.autoscale
      if (!config || this.closed) continue
      const group = this.groupOf(service.uuid)
      if (group.deciding) continue
      group.deciding = this.evaluate(service, config, group)
        .catch((error: Error) => this.options.log(`autoscale: service ${service.name}: ${error.message}`))
        .finally(() => {
          group.deciding = undefined
        })
      await group.deciding
    }
  }

  private async evaluate(service: ServiceRecord, config: AutoscaleRecord, group: Group): Promise<void> {
    const master = this.options.store.instance(config.master)
    if (!master || master.service_uuid !== service.uuid) return this.resetNow(service, group, {startMaster: false})
    const clones = this.clonesOf(service.uuid, master.uuid).filter((c) => !group.retiring.has(c.uuid))
    // A clone stopped for good (its boot failed, it exited, a user stopped it) is replaced, not kept.
    const failed = clones.filter((c) => c.state === 'stopped' && c.desired === 'stopped')
    for (const clone of failed) this.retire(group, clone, 0)
    const active = clones.filter((c) => !failed.includes(c))
    const members = [master, ...active]
    const now = Date.now()
    const counted = members.filter((m) => m.state === 'running' && m.started_at !== undefined && Date.parse(m.started_at) + config.warmup_time_ms <= now)
    const warming = active.some((c) => !counted.includes(c) && (c.state === 'starting' || c.state === 'running' || (c.state === 'stopped' && c.desired === 'running')))
    const values = this.measure(config, counted, group, now)
    const size = members.length
    const target = desiredSize(config.policies, values, {
      size,
      min: config.min_size,
      max: config.max_size,
      warming,
      cooledDown: now - group.lastScaleAt >= config.cooldown_time_ms,
    })
    if (target === size) return
    const measured = Object.entries(values).map(([metric, value]) => `${metric} ${Math.round(value)}`).join(', ') || 'no metric'
    this.options.log(`autoscale: service ${service.name}: ${measured}; ${size} → ${target} instance(s)`)
    group.lastScaleAt = now
    if (target > size) await this.scaleOut(master, target - size, group)
    else this.scaleIn(active, size - target, group, config)
  }

  /** The metrics the configuration's policies use, over the counted instances. */
  private measure(config: AutoscaleRecord, counted: InstanceRecord[], group: Group, now: number): MetricValues {
    const values: MetricValues = {}
    const uses = new Set(config.policies.map((p) => p.metric))
    if (uses.has('inflight_reqs') && counted.length > 0) {
      values.inflight_reqs = counted.reduce((sum, m) => sum + this.options.meters.inflight(m.uuid), 0)
    }
    if (uses.has('cpu')) {
      const rates: number[] = []
      for (const member of counted) {
        const ms = this.options.meters.cpuMs(member)
        const previous = group.cpu.get(member.uuid)
        group.cpu.set(member.uuid, {at: now, ms})
        if (previous && now > previous.at) rates.push(((ms - previous.ms) / (now - previous.at)) * 1000)
      }
      for (const uuid of group.cpu.keys()) if (!counted.some((m) => m.uuid === uuid)) group.cpu.delete(uuid)
      if (rates.length > 0) values.cpu = rates.reduce((a, b) => a + b, 0) / rates.length
    }
    return values
  }

  private async scaleOut(master: InstanceRecord, count: number, group: Group): Promise<void> {
    const {store, runtime} = this.options
    const user = store.user(master.user)
    if (!user) return
    const made: InstanceRecord[] = []
    for (let i = 0; i < count; i++) {
      if (store.listInstances(user.uuid).length >= this.options.maxInstances) {
        this.problem(group, `cannot add instances to ${master.name}'s group: the quota of ${this.options.maxInstances} instances is reached`)
        break
      }
      let name = cloneName(master, randomSuffix(5))
      while (store.instanceByName(user.uuid, name)) name = cloneName(master, randomSuffix(5))
      const clone = cloneOf(master, name, store.allocateAddresses(user))
      store.setInstance(clone)
      made.push(clone)
    }
    if (made.length === 0) return
    await store.flush()
    runtime.refreshNames(user.uuid)
    group.problem = undefined
    // Closed meanwhile: the records stay, and the next start brings them up like any instance.
    if (this.closed) return
    for (const clone of made) {
      runtime.start(clone.uuid).catch((error: Error) => this.options.log(`autoscale: clone ${clone.name} did not start: ${error.message}`))
    }
  }

  /** Removes the clones with the least in flight (the newest among equals). */
  private scaleIn(clones: InstanceRecord[], count: number, group: Group, config: AutoscaleRecord): void {
    const load = (c: InstanceRecord): number => this.options.meters.inflight(c.uuid)
    const order = [...clones].sort((a, b) => load(a) - load(b) || b.created_at.localeCompare(a.created_at))
    for (const clone of order.slice(0, count)) this.retire(group, clone, config.cooldown_time_ms)
  }

  /** Drains (at most `drainMs`), stops and deletes a clone, in the background. */
  private retire(group: Group, clone: InstanceRecord, drainMs: number): void {
    if (group.retiring.has(clone.uuid)) return
    group.retiring.add(clone.uuid)
    void (async () => {
      // A user stop is the one that drains: no new connections, open ones may finish.
      if (clone.state !== 'stopped') await this.options.runtime.stop(clone.uuid, {force: false, drainTimeoutMs: drainMs, reason: 'user'})
      const current = this.options.store.instance(clone.uuid)
      if (this.closed || !current) return
      const removal = this.options.remove(current)
      this.removals.add(removal)
      await removal.finally(() => this.removals.delete(removal))
    })()
      .catch((error: Error) => this.options.log(`autoscale: removing clone ${clone.name} failed: ${error.message}`))
      .finally(() => group.retiring.delete(clone.uuid))
  }

  private clonesOf(serviceUuid: string, masterUuid: string): InstanceRecord[] {
    return this.options.store.attachedInstances(serviceUuid).filter((i) => i.clone_of === masterUuid)
  }

  private groupOf(serviceUuid: string): Group {
    let group = this.groups.get(serviceUuid)
    if (!group) this.groups.set(serviceUuid, (group = {lastScaleAt: Date.now(), cpu: new Map(), retiring: new Set()}))
    return group
  }

  private problem(group: Group, message: string): void {
    if (group.problem === message) return
    group.problem = message
    this.options.log(`autoscale: ${message}`)
  }
}
