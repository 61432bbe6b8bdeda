// The instance endpoints' operations: create, get, start, stop, delete, wait, log, and what happens
// when an instance stops on its own (delete-on-stop).
import {ErrorCode, type InstanceState} from '../../api/types.js'
import type {InstanceRecord, UserRecord} from '../types.js'
import type {ApiContext} from './context.js'
import {type EnvelopeBody, type Item, eachItem, envelope, failedItem} from './envelope.js'
import {ItemFailure, invalid} from './failures.js'
import {bool, intInRange, oneOf} from './fields.js'
import {MAX_WAIT_MS, readCreateRequest, stageInstances} from './instance-create.js'
import {presentInstance} from './present.js'
import {type RefEntry, lookup, refEntries} from './refs.js'
import {extraPorts, prepareService, releaseIfOrphan} from './services.js'
import type {VolumeOperations} from './volumes.js'
import type {Autoscaler} from '../autoscale/index.js'

const KEY = 'instances'
const STATES = ['stopped', 'starting', 'running', 'draining', 'stopping', 'standby'] as const

export class InstanceOperations {
  /** Deletions in flight, so that two requests (or delete-on-stop) remove an instance once. */
  private readonly deleting = new Map<string, Promise<void>>()

  constructor(
    private readonly ctx: ApiContext,
    private readonly volumes: VolumeOperations,
    private readonly autoscale: Pick<Autoscaler, 'instanceRemoved'>,
  ) {}

  // ---- create

  async create(user: UserRecord, body: unknown): Promise<EnvelopeBody> {
    const request = readCreateRequest(this.ctx, body)
    const issued = request.group && 'draft' in request.group ? await prepareService(this.ctx, user, request.group.draft) : undefined
    let staged
    try {
      staged = stageInstances(this.ctx, this.volumes, user, request, issued)
    } catch (error) {
      if (error instanceof ItemFailure) return envelope(KEY, [failedItem(error, {name: request.name})])
      throw error
    }
    await this.ctx.store.flush()
    await this.volumes.initialize(staged.volumes)
    if (staged.service && staged.created) await this.ctx.publish(extraPorts(staged.service))
    this.ctx.runtime.refreshNames(user.uuid)
    if (staged.records[0].desired === 'running') {
      for (const record of staged.records) this.launch(record.uuid)
      if (request.autostart && request.waitMs > 0) {
        await Promise.all(staged.records.map((r) => this.ctx.runtime.waitFor(r.uuid, 'running', request.waitMs)))
      }
    }
    return envelope(KEY, staged.records.map((r) => this.present(this.ctx.store.instance(r.uuid) ?? r)))
  }

  // ---- read

  async get(user: UserRecord, body: unknown, query: URLSearchParams): Promise<EnvelopeBody> {
    const entries = refEntries(body, query)
    if (!entries) return envelope(KEY, this.ctx.store.listInstances(user.uuid).map((r) => this.present(r)))
    return envelope(KEY, await eachItem(entries, (e) => e, async (e) => this.present(this.find(user, e))))
  }

  /** The legacy `GET /instances/list`: uuids and names only. */
  list(user: UserRecord): EnvelopeBody {
    return envelope(KEY, this.ctx.store.listInstances(user.uuid).map((r) => ({status: 'success', uuid: r.uuid, name: r.name})))
  }

  // ---- start / stop

  async start(user: UserRecord, body: unknown, query: URLSearchParams): Promise<EnvelopeBody> {
    const entries = this.required(body, query)
    const items = await eachItem(entries, (e) => e, async (e) => {
      const waitMs = intInRange(e.body, 'wait_timeout_ms', -1, MAX_WAIT_MS, 0)
      const record = this.find(user, e)
      const previous = record.state
      if (record.desired !== 'running') await this.ctx.store.updateInstance(record.uuid, {desired: 'running'})
      if (record.state === 'draining' || record.state === 'stopping') await this.ctx.runtime.waitFor(record.uuid, 'stopped', 60_000)
      if (record.state === 'stopped') this.launch(record.uuid)
      if (waitMs !== 0) {
        const reached = await this.ctx.runtime.waitFor(record.uuid, 'running', waitMs < 0 ? MAX_WAIT_MS : waitMs)
        if (reached === 'stopped' && this.restsStopped(record.uuid)) throw this.stoppedForGood(record, 'running')
      }
      return {status: 'success', uuid: record.uuid, name: record.name, state: this.stateOf(record), previous_state: previous}
    })
    return envelope(KEY, items)
  }

  async stop(user: UserRecord, body: unknown, query: URLSearchParams): Promise<EnvelopeBody> {
    const entries = this.required(body, query)
    const items = await eachItem(entries, (e) => e, async (e) => {
      const force = bool(e.body, 'force', false)
      const drainTimeoutMs = intInRange(e.body, 'drain_timeout_ms', 0, 3_600_000, 0)
      const record = this.find(user, e)
      const previous = record.state
      await this.ctx.store.updateInstance(record.uuid, {desired: 'stopped'})
      // A stopped instance with a restart pending is stopped too: the restart is cancelled.
      if (record.state !== 'stopped' || record.next_restart_at) await this.ctx.runtime.stop(record.uuid, {force, drainTimeoutMs, reason: 'user'})
      const state = this.ctx.store.instance(record.uuid)?.state ?? 'stopped'
      return {status: 'success', uuid: record.uuid, name: record.name, state, previous_state: previous}
    })
    return envelope(KEY, items)
  }

  // ---- delete

  async delete(user: UserRecord, body: unknown, query: URLSearchParams): Promise<EnvelopeBody> {
    const entries = this.required(body, query)
    const items = await eachItem(entries, (e) => e, async (e) => {
      const record = this.find(user, e)
      const previous = record.state
      await this.remove(record)
      return {status: 'success', uuid: record.uuid, name: record.name, previous_state: previous}
    })
    return envelope(KEY, items)
  }

  /**
   * Stops the process, forgets the record, takes an implicit service with its last instance and the
   * volumes made with it (unless detached since); the others are unmounted and stay. An autoscale
   * master takes its service's autoscale configuration with it (its clones are drained and deleted).
   */
  remove(record: InstanceRecord): Promise<void> {
    let pending = this.deleting.get(record.uuid)
    if (!pending) {
      pending = (async () => {
        await this.autoscale.instanceRemoved(record)
        await this.ctx.runtime.remove(record.uuid)
        this.ctx.meters.forget(record.uuid)
        this.ctx.store.removeInstance(record.uuid)
        releaseIfOrphan(this.ctx, record.service_uuid)
        const volumeWork = this.volumes.dropWithInstance(record)
        await this.ctx.store.flush()
        await volumeWork()
        this.ctx.runtime.refreshNames(record.user)
      })().finally(() => this.deleting.delete(record.uuid))
      this.deleting.set(record.uuid, pending)
    }
    return pending
  }

  /** The runtime reports an instance reached `stopped` for any reason. */
  onStopped(uuid: string): void {
    const record = this.ctx.store.instance(uuid)
    if (!record || !record.features.includes('delete-on-stop')) return
    this.remove(record).catch((error: Error) => this.ctx.log(`delete-on-stop of ${record.name} (${uuid}) failed: ${error.message}`))
  }

  // ---- wait / log

  async wait(user: UserRecord, body: unknown, query: URLSearchParams): Promise<EnvelopeBody> {
    const entries = this.required(body, query)
    const items = await eachItem(entries, (e) => e, async (e) => {
      const wanted = oneOf(e.body, 'state', STATES, 'running')
      const timeout = intInRange(e.body, 'timeout_ms', -1, MAX_WAIT_MS, -1)
      const record = this.find(user, e)
      const reached = await this.ctx.runtime.waitFor(record.uuid, wanted, timeout < 0 ? MAX_WAIT_MS : timeout)
      if (reached === 'stopped' && wanted !== 'stopped' && this.restsStopped(record.uuid)) throw this.stoppedForGood(record, wanted)
      if (reached !== wanted) throw new ItemFailure(ErrorCode.TimedOut, `Timed out waiting for state '${wanted}' (instance is ${reached})`)
      return {status: 'success', uuid: record.uuid, name: record.name, state: reached}
    })
    return envelope(KEY, items)
  }

  async log(user: UserRecord, body: unknown, query: URLSearchParams): Promise<EnvelopeBody> {
    const entries = this.required(body, query)
    const items = await eachItem(entries, (e) => e, async (e) => {
      const offset = intInRange(e.body, 'offset', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, -4096)
      const limit = intInRange(e.body, 'limit', 0, 16383, 4096)
      const record = this.find(user, e)
      const window = this.ctx.runtime.logs(record.uuid, offset, limit)
      return {
        status: 'success',
        uuid: record.uuid,
        name: record.name,
        output: window.output.toString('base64'),
        range: window.range,
        available: window.available,
        state: record.state,
      }
    })
    return envelope(KEY, items)
  }

  // ---- boot

  /** After a platform (re)start: bring back what should run. */
  restore(): void {
    for (const record of this.ctx.store.listInstances()) {
      if (record.desired === 'running' && record.state === 'stopped') this.launch(record.uuid)
    }
  }

  // ----

  private launch(uuid: string): void {
    this.ctx.runtime.start(uuid).catch((error: Error) => this.ctx.log(`start of instance ${uuid} failed: ${error.message}`))
  }

  private find(user: UserRecord, entry: RefEntry): InstanceRecord {
    return lookup(entry, 'instance', (uuid) => this.ctx.store.instance(uuid), (name) => this.ctx.store.instanceByName(user.uuid, name), user.uuid)
  }

  /** Stopped with nothing pending that would start it (or deleted by delete-on-stop). */
  private restsStopped(uuid: string): boolean {
    const record = this.ctx.store.instance(uuid)
    return !record || (record.state === 'stopped' && record.desired === 'stopped')
  }

  /** A wait the runtime ended early: the instance stopped for good (e.g. its process exited). */
  private stoppedForGood(record: InstanceRecord, wanted: InstanceState): ItemFailure {
    const current = this.ctx.store.instance(record.uuid) ?? record
    const code = current.exit_code === undefined ? '' : ` with exit code ${current.exit_code}`
    return new ItemFailure(
      ErrorCode.FailedOperation,
      `instance ${current.name} stopped${code} (stop_reason ${current.stop_reason ?? '-'}) instead of reaching '${wanted}'; see its log`,
    )
  }

  private required(body: unknown, query: URLSearchParams): RefEntry[] {
    const entries = refEntries(body, query)
    if (!entries) throw invalid('Malformed request: name the instances (an array of objects with a uuid or a name)')
    return entries
  }

  /** Just after a start is requested the runtime may not have moved yet: report `starting`. */
  private stateOf(record: InstanceRecord): InstanceState {
    const current = this.ctx.store.instance(record.uuid) ?? record
    return current.desired === 'running' && current.state === 'stopped' ? 'starting' : current.state
  }

  private present(record: InstanceRecord): Item {
    const instance = presentInstance(this.ctx, record)
    instance.state = this.stateOf(record)
    return instance
  }
}
