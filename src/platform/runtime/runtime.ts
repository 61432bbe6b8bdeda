// The runtime: a registry of instance supervisors (uuid → InstanceSupervisor, one per instance, the
// only thing that changes an instance's state), the ConnectionTracker that the private endpoints and
// the gateway call (dispatched to the instance's supervisor), and the users' `.internal` hosts files.
import {EventEmitter} from 'node:events'
import fs from 'node:fs'
import type net from 'node:net'
import path from 'node:path'

import {NotFoundError} from '../../api/errors.js'
import type {UidBlock} from '../isolation/uid-blocks.js'
import {writeHostsFile} from '../network/hosts-file.js'
import type {AddressAdmission} from '../network/instance-endpoints.js'
import {removeTree} from '../store/remove-tree.js'
import type {BackendAddress, ConnectionTracker, InstanceRecord, InstanceState, Logger, UserRecord} from '../types.js'
import type {VolumeMount} from '../volumes/index.js'
import {BuiltinPrograms, PROGRAMS_DIR} from './builtin-programs.js'
import {ImageCatalog} from './catalog.js'
import {ConsoleLog, type LogWindow} from './console-log.js'
import {instanceIdentity, platformIsPrivileged, type RunAs} from './identity.js'
import {InstanceSupervisor, type RuntimeTimings, type StopOptions} from './instance-supervisor.js'
import {HEALTHY_AFTER_MS} from './restart-policy.js'

export type {RuntimeTimings, StopOptions}

export interface RuntimeOptions {
  /** Instance dirs under <dataDir>/instances/<uuid>/, user hosts files under <dataDir>/networks/. */
  dataDir: string
  log: Logger
  get(uuid: string): InstanceRecord | undefined
  list(): InstanceRecord[]
  user(userUuid: string): UserRecord | undefined
  /** Applies the patch at once (a following `get` sees it) and resolves once it is durable. */
  update(uuid: string, patch: Partial<InstanceRecord>): Promise<InstanceRecord | undefined>
  /** The instance is stopped for good (not after a platform stop or a removal): delete-on-stop. */
  onStopped(uuid: string): void
  /** Overrides of the runtime's time bounds (tests). */
  timings?: Partial<RuntimeTimings>
  /** The project whose built-in image programs are installed (default: this package). */
  projectRoot?: string
  /** Mounts the instance's volumes before a boot, for `runAs`; rejects with the reason (none: no volumes). */
  mountVolumes?(record: InstanceRecord, runAs: RunAs | undefined): Promise<VolumeMount[]>
  /** The platform's uid block (as root): each user's instances run under a uid of their own. */
  uids?: UidBlock
  /** The kernel's rules for the private network (as root, with nft): instances' addresses are admitted there. */
  firewall?: AddressAdmission
  /** Counts the bytes of sockets to instances (`meter`), for their metrics. */
  traffic?: {watch(instanceUuid: string, socket: net.Socket): void}
}

/** How long a graceful stop may take before the process group is killed. */
export const STOP_GRACE_MS = 5_000
/** A process that does not serve its port this long after spawn is killed (a wrong port, a hang). */
export const BOOT_TIMEOUT_MS = 60_000

export class Runtime implements ConnectionTracker {
  readonly catalog: ImageCatalog
  private readonly supervisors = new Map<string, InstanceSupervisor>()
  private readonly events = new EventEmitter()
  private readonly timings: RuntimeTimings
  private readonly writes = new Set<Promise<unknown>>()

  constructor(private readonly options: RuntimeOptions) {
    this.catalog = new ImageCatalog(options.dataDir, new BuiltinPrograms(path.join(options.dataDir, PROGRAMS_DIR), options.projectRoot))
    this.timings = {stopGraceMs: STOP_GRACE_MS, bootTimeoutMs: BOOT_TIMEOUT_MS, healthyAfterMs: HEALTHY_AFTER_MS, ...options.timings}
    this.events.setMaxListeners(0)
    fs.mkdirSync(this.instancesDir, {recursive: true})
    fs.mkdirSync(this.networksDir, {recursive: true})
    // Unprivileged instance processes must reach their own dirs, hosts file and programs below the
    // data dir: allow traversal (not listing) for others; what lies below is each user's alone
    // (identity.ts). Its ancestors are checked at start-up (instance-access.ts).
    if (platformIsPrivileged()) {
      for (const dir of [options.dataDir, this.instancesDir, this.networksDir]) fs.chmodSync(dir, (fs.statSync(dir).mode & ~0o066) | 0o111)
    }
  }

  private get instancesDir(): string {
    return path.join(this.options.dataDir, 'instances')
  }

  private get networksDir(): string {
    return path.join(this.options.dataDir, 'networks')
  }

  instanceDir(uuid: string): string {
    return path.join(this.instancesDir, uuid)
  }

  hostsFile(userUuid: string): string {
    return path.join(this.networksDir, userUuid, 'hosts')
  }

  // ---- requests

  /** Resolves once running; rejects with the reason when it cannot get there. */
  start(uuid: string): Promise<void> {
    try {
      return this.supervisor(uuid).start()
    } catch (error) {
      return Promise.reject(error as Error)
    }
  }

  async stop(uuid: string, options: StopOptions): Promise<void> {
    this.record(uuid)
    const supervisor = this.supervisors.get(uuid)
    if (supervisor) return supervisor.stop(options)
    if (options.reason === 'user') await this.options.update(uuid, {desired: 'stopped'})
  }

  /** Stops the process, closes the endpoints and deletes the instance's directory. */
  async remove(uuid: string): Promise<void> {
    const supervisor = this.supervisors.get(uuid)
    if (supervisor) {
      await supervisor.remove().catch((error: Error) => this.options.log(`remove ${uuid}: ${error.message}`))
      this.supervisors.delete(uuid)
    }
    await removeTree(this.instanceDir(uuid))
  }

  /** Platform stop: every process stopped gracefully; the records keep `desired`. */
  async shutdown(): Promise<void> {
    await Promise.all(
      [...this.supervisors.values()].map(async (supervisor) => {
        await supervisor.stop({force: false, drainTimeoutMs: 0, reason: 'platform'}).catch((error: Error) => this.options.log(`shutdown: ${error.message}`))
        await supervisor.dispose()
      }),
    )
    this.supervisors.clear()
    await Promise.all(this.writes)
  }

  /**
   * Resolves with the state once it is `state`, or with the state at the timeout. Waiting for any
   * state but `stopped` ends early when the instance is stopped for good (nothing will move it).
   */
  waitFor(uuid: string, state: InstanceState, timeoutMs: number): Promise<InstanceState> {
    const current = (): InstanceState => this.options.get(uuid)?.state ?? 'stopped'
    const reached = (): boolean => {
      const record = this.options.get(uuid)
      return !record || record.state === state || (state !== 'stopped' && record.state === 'stopped' && record.desired === 'stopped')
    }
    if (reached() || timeoutMs <= 0) return Promise.resolve(current())
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        this.events.off(`state:${uuid}`, check)
        resolve(current())
      }
      const check = (): void => {
        if (reached()) done()
      }
      const timer = setTimeout(done, timeoutMs)
      this.events.on(`state:${uuid}`, check)
    })
  }

  logs(uuid: string, offset: number, limit: number): LogWindow {
    const log = this.supervisors.get(uuid)?.log() ?? new ConsoleLog(this.instanceDir(uuid)) // reading creates nothing
    return log.read(offset, limit)
  }

  /** Adds a line from the platform to the instance's console log (`ukc: …`). */
  note(uuid: string, line: string): void {
    this.supervisors.get(uuid)?.log().append(`ukc: ${line}\n`)
  }

  connections(uuid: string): number {
    return this.supervisors.get(uuid)?.connections.open ?? 0
  }

  /** The instance's connection count for its metrics: open now, opened in all, held while it boots or wakes. */
  connectionStats(uuid: string): {open: number; total: number; queued: number} {
    const count = this.supervisors.get(uuid)?.connections
    return {open: count?.open ?? 0, total: count?.total ?? 0, queued: count?.queued ?? 0}
  }

  /** Rewrites the user's `<name>.internal` map (after create, delete, rename). */
  refreshNames(userUuid: string): void {
    const names = this.options
      .list()
      .filter((record) => record.user === userUuid)
      .map((record) => ({name: record.name, ip: record.private_ip}))
    const user = this.options.user(userUuid)
    writeHostsFile(this.hostsFile(userUuid), names, user && this.identityOf(user))
  }

  /** Who `user`'s instances run as (the identity policy, given this platform's uid block). */
  identityOf(user: UserRecord): RunAs | undefined {
    return instanceIdentity({name: user.name, index: user.index, uids: this.options.uids})
  }

  // ---- ConnectionTracker: each call goes to the instance's supervisor

  /**
   * Counts a new connection and resolves with the backend once the instance can take it (waking it
   * from standby, or waiting for its boot). When it rejects, the connection was not counted: the
   * caller resets it and does not call `close`.
   */
  open(instanceUuid: string, port: number, _via: 'public' | 'private'): Promise<BackendAddress> {
    const supervisor = this.supervisors.get(instanceUuid)
    if (!supervisor) return Promise.reject(new Error(`instance ${this.options.get(instanceUuid)?.name ?? instanceUuid} is not running`))
    return supervisor.open(port)
  }

  activity(instanceUuid: string): void {
    this.supervisors.get(instanceUuid)?.activity()
  }

  close(instanceUuid: string): void {
    this.supervisors.get(instanceUuid)?.close()
  }

  meter(instanceUuid: string, socket: net.Socket): void {
    this.options.traffic?.watch(instanceUuid, socket)
  }

  // ----

  private record(uuid: string): InstanceRecord {
    const record = this.options.get(uuid)
    if (!record) throw new NotFoundError(`no instance with UUID ${uuid}`)
    return record
  }

  private supervisor(uuid: string): InstanceSupervisor {
    let supervisor = this.supervisors.get(uuid)
    if (supervisor) return supervisor
    const record = this.record(uuid)
    const user = this.options.user(record.user)
    if (!user) throw new NotFoundError(`no user ${record.user} for instance ${record.name}`)
    const runAs = this.identityOf(user)
    supervisor = new InstanceSupervisor({
      uuid,
      runAs,
      networkIndex: user.index,
      privateIp: record.private_ip,
      backendIp: record.backend_ip,
      firewall: this.options.firewall,
      instanceDir: this.instanceDir(uuid),
      hostsFile: this.hostsFile(record.user),
      catalog: this.catalog,
      tracker: this,
      timings: this.timings,
      log: this.options.log,
      record: () => this.options.get(uuid),
      update: (patch) => this.update(uuid, patch),
      changed: () => this.events.emit(`state:${uuid}`),
      settled: () => this.options.onStopped(uuid),
      mountVolumes: async () => {
        const current = this.options.get(uuid)
        return current && current.volumes.length > 0 && this.options.mountVolumes ? this.options.mountVolumes(current, runAs) : []
      },
    })
    this.supervisors.set(uuid, supervisor)
    return supervisor
  }

  private update(uuid: string, patch: Partial<InstanceRecord>): void {
    const write = this.options.update(uuid, patch).then(
      () => undefined,
      (error: Error) => this.options.log(`store update for ${uuid} failed: ${error.message}`),
    )
    this.writes.add(write)
    void write.finally(() => this.writes.delete(write))
  }
}
