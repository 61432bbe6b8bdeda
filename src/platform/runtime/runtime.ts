// The runtime: each instance is a real child process in its own process group, with private
// endpoints owned by the platform in front of it. It drives the state machine
//   stopped → starting → running → (draining →) stopping → stopped,  running ⇄ standby
// writes every state change through the store (`update`), applies the restart policy, and is the
// ConnectionTracker that the private endpoints and the gateway call for every connection.
import {EventEmitter} from 'node:events'
import fs from 'node:fs'
import path from 'node:path'

import {NotFoundError} from '../../api/errors.js'
import {PrivateEndpoint} from '../network/private-endpoint.js'
import {writeHostsFile} from '../network/hosts-file.js'
import {StandbyWatch} from '../scaler/standby-watch.js'
import type {BackendAddress, ConnectionTracker, InstanceRecord, InstanceState, Logger, UserRecord} from '../types.js'
import {ImageCatalog, type ResolvedImage} from './catalog.js'
import {ConsoleLog, type LogWindow} from './console-log.js'
import {exitCodeOf, InstanceProcess, type Exit} from './instance-process.js'
import type {LaunchContext, LaunchPlan} from './launch.js'
import {launchContextOf} from './instance-environment.js'
import {waitUntilReady} from './readiness.js'
import {HEALTHY_AFTER_MS, restartDelay, shouldRestart} from './restart-policy.js'
import {backendPort, endpointPort, instanceIdentity} from './run-as.js'
import {StopReason} from './stop-reason.js'
import {killStaleProcess} from './stale-process.js'

export interface RuntimeOptions {
  /** Instance dirs under <dataDir>/instances/<uuid>/, user hosts files under <dataDir>/networks/. */
  dataDir: string
  log: Logger
  get(uuid: string): InstanceRecord | undefined
  list(): InstanceRecord[]
  user(userUuid: string): UserRecord | undefined
  /** Persists durably, then resolves. */
  update(uuid: string, patch: Partial<InstanceRecord>): Promise<InstanceRecord | undefined>
  /** The instance reached `stopped` (not called for platform shutdown or remove). */
  onStopped(uuid: string): void
  /** Overrides of the runtime's time bounds (tests). */
  timings?: Partial<RuntimeTimings>
}

export interface RuntimeTimings {
  /** Graceful stop before SIGKILL. */
  stopGraceMs: number
  /** Spawn → listening before the process is killed. */
  bootTimeoutMs: number
  /** Running this long resets the restart back-off. */
  healthyAfterMs: number
}

export interface StopOptions {
  force: boolean
  drainTimeoutMs: number
  reason: 'user' | 'platform'
}

/** How long a graceful stop may take before the process group is killed. */
export const STOP_GRACE_MS = 5_000
/** How long an endpoint address still in use (a platform going away) is retried. */
const ENDPOINT_RETRY_MS = 2_000
/** A process that does not serve its port this long after spawn is killed (a wrong port, a hang). */
export const BOOT_TIMEOUT_MS = 60_000

type ExitCause = 'user' | 'forced' | 'platform' | 'standby'

/** What the runtime knows about one instance that is not stopped (or has a restart pending). */
interface Slot {
  uuid: string
  phase: InstanceState
  process?: InstanceProcess
  plan?: LaunchPlan
  frozen: boolean
  endpoints: PrivateEndpoint[]
  watch?: StandbyWatch
  connections: number
  booting?: Promise<void>
  bootAbort?: AbortController
  waking?: Promise<void>
  stopping?: Promise<void>
  /** Why the current process is going away, when the platform made it go. */
  exitCause?: ExitCause
  /** Settles once the exit of the current process has been recorded. */
  exitRecorded?: Promise<void>
  restartTimer?: NodeJS.Timeout
  healthyTimer?: NodeJS.Timeout
  /** Serializes store updates so they land in order. */
  writes: Promise<unknown>
  /** Remove/shutdown: no restart, no onStopped. */
  quiet: boolean
}

export class Runtime implements ConnectionTracker {
  readonly catalog: ImageCatalog
  private readonly slots = new Map<string, Slot>()
  private readonly consoles = new Map<string, ConsoleLog>()
  private readonly events = new EventEmitter()
  private closing = false
  private readonly timings: RuntimeTimings

  constructor(private readonly options: RuntimeOptions) {
    this.catalog = new ImageCatalog(options.dataDir)
    this.timings = {stopGraceMs: STOP_GRACE_MS, bootTimeoutMs: BOOT_TIMEOUT_MS, healthyAfterMs: HEALTHY_AFTER_MS, ...options.timings}
    this.events.setMaxListeners(0)
    fs.mkdirSync(this.instancesDir, {recursive: true})
    // Instance processes run as an unprivileged user and must reach their own dirs and hosts file
    // below the data dir: allow traversal (not listing) for others.
    if (instanceIdentity()) {
      for (const dir of [options.dataDir, this.instancesDir]) fs.chmodSync(dir, fs.statSync(dir).mode | 0o111)
    }
  }

  private get instancesDir(): string {
    return path.join(this.options.dataDir, 'instances')
  }

  instanceDir(uuid: string): string {
    return path.join(this.instancesDir, uuid)
  }

  hostsFile(userUuid: string): string {
    return path.join(this.options.dataDir, 'networks', userUuid, 'hosts')
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  /** stopped → starting → running; resolves once running, rejects if it stops before that. */
  async start(uuid: string): Promise<void> {
    this.record(uuid)
    const slot = this.slots.get(uuid)
    if (slot) {
      this.cancelRestart(slot) // a manual start aborts a restart sequence
      if (slot.phase === 'running') return
      if (slot.phase === 'starting' && slot.booting) return slot.booting
      if (slot.phase === 'standby') return this.wake(slot)
      if (slot.stopping) await slot.stopping
    }
    const reset = this.slots.get(uuid) ?? this.slot(uuid)
    void this.write(reset, {desired: 'running', restart_attempt: 0, next_restart_at: undefined})
    return this.boot(uuid, 'start')
  }

  async stop(uuid: string, options: StopOptions): Promise<void> {
    this.record(uuid)
    const slot = this.slots.get(uuid)
    if (!slot) {
      if (options.reason === 'user') await this.options.update(uuid, {desired: 'stopped'})
      return
    }
    this.cancelRestart(slot)
    if (options.reason === 'user') void this.write(slot, {desired: 'stopped'})
    if (slot.stopping) {
      if (options.force) {
        slot.exitCause = this.causeOf(options)
        slot.process?.signal('SIGKILL')
      }
      return slot.stopping
    }
    if (slot.phase === 'stopped') {
      // Only a pending restart was left: it is aborted, the instance stays stopped.
      await this.write(slot, {next_restart_at: undefined})
      this.forget(slot)
      return
    }
    slot.stopping = this.halt(slot, options).finally(() => {
      slot.stopping = undefined
    })
    return slot.stopping
  }

  /** Stops the process, closes the endpoints and deletes the instance's directory. */
  async remove(uuid: string): Promise<void> {
    const slot = this.slots.get(uuid)
    if (slot) {
      slot.quiet = true
      this.cancelRestart(slot)
      if (slot.phase !== 'stopped' || slot.stopping) {
        await this.stop(uuid, {force: true, drainTimeoutMs: 0, reason: 'platform'}).catch((error: Error) =>
          this.options.log(`remove ${uuid}: ${error.message}`),
        )
      }
      this.closeEndpoints(slot)
      this.forget(slot)
    }
    this.consoles.get(uuid)?.close()
    this.consoles.delete(uuid)
    fs.rmSync(this.instanceDir(uuid), {recursive: true, force: true})
  }

  /** Platform stop: every process stopped gracefully; the records keep `desired`. */
  async shutdown(): Promise<void> {
    this.closing = true
    await Promise.all(
      [...this.slots.values()].map(async (slot) => {
        slot.quiet = true
        this.cancelRestart(slot)
        if (slot.phase !== 'stopped' || slot.stopping) {
          await this.stop(slot.uuid, {force: false, drainTimeoutMs: 0, reason: 'platform'}).catch((error: Error) =>
            this.options.log(`shutdown ${slot.uuid}: ${error.message}`),
          )
        }
        this.closeEndpoints(slot)
        this.forget(slot)
        await slot.writes
      }),
    )
    for (const log of this.consoles.values()) log.close()
    this.consoles.clear()
  }

  /** Resolves with the state once it is `state`, or with the state at the timeout. */
  waitFor(uuid: string, state: InstanceState, timeoutMs: number): Promise<InstanceState> {
    const current = (): InstanceState => this.options.get(uuid)?.state ?? 'stopped'
    if (current() === state || timeoutMs <= 0) return Promise.resolve(current())
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        this.events.off(`state:${uuid}`, check)
        resolve(current())
      }
      const check = (): void => {
        if (current() === state || !this.options.get(uuid)) done()
      }
      const timer = setTimeout(done, timeoutMs)
      this.events.on(`state:${uuid}`, check)
    })
  }

  logs(uuid: string, offset: number, limit: number): LogWindow {
    const log = this.consoles.get(uuid) ?? new ConsoleLog(this.instanceDir(uuid)) // reading creates nothing
    return log.read(offset, limit)
  }

  connections(uuid: string): number {
    return this.slots.get(uuid)?.connections ?? 0
  }

  /** Rewrites the user's `<name>.internal` map (after create, delete, rename). */
  refreshNames(userUuid: string): void {
    const names = this.options
      .list()
      .filter((record) => record.user === userUuid)
      .map((record) => ({name: record.name, ip: record.private_ip}))
    writeHostsFile(this.hostsFile(userUuid), names)
  }

  // ---- ConnectionTracker ------------------------------------------------------------------------

  /**
   * Counts a new connection and resolves with the backend once the instance can take it (waking it
   * from standby, or waiting for its boot). When it rejects, the connection was not counted: the
   * caller resets it and does not call `close`.
   */
  async open(instanceUuid: string, port: number, _via: 'public' | 'private'): Promise<BackendAddress> {
    const slot = this.slots.get(instanceUuid)
    const record = this.options.get(instanceUuid)
    if (!slot || !record || !['running', 'standby', 'starting'].includes(slot.phase) || slot.stopping) {
      throw new Error(`instance ${record?.name ?? instanceUuid} is not running`)
    }
    slot.connections += 1
    slot.watch?.opened()
    try {
      if (slot.phase === 'standby') await this.wake(slot)
      else if (slot.phase === 'starting') await slot.booting
      if (slot.phase !== 'running') throw new Error(`instance ${record.name} is not running`)
    } catch (error) {
      this.close(instanceUuid)
      throw error
    }
    return {host: record.backend_ip, port: backendPort(port)}
  }

  activity(instanceUuid: string): void {
    const slot = this.slots.get(instanceUuid)
    if (!slot) return
    slot.watch?.activity()
    // Bytes for an idle-frozen instance (policy `idle`, connections kept open): wake it.
    if (slot.phase === 'standby' && slot.frozen) {
      this.wake(slot).catch((error: Error) => this.options.log(`wake ${instanceUuid}: ${error.message}`))
    }
  }

  close(instanceUuid: string): void {
    const slot = this.slots.get(instanceUuid)
    if (!slot || slot.connections === 0) return
    slot.connections -= 1
    slot.watch?.closed()
    if (slot.connections === 0) this.events.emit(`drained:${instanceUuid}`)
  }

  // ---- internals ------------------------------------------------------------------------------

  private record(uuid: string): InstanceRecord {
    const record = this.options.get(uuid)
    if (!record) throw new NotFoundError(`no instance with UUID ${uuid}`)
    return record
  }

  private slot(uuid: string): Slot {
    let slot = this.slots.get(uuid)
    if (!slot) {
      slot = {uuid, phase: 'stopped', frozen: false, endpoints: [], connections: 0, writes: Promise.resolve(), quiet: false}
      this.slots.set(uuid, slot)
    }
    return slot
  }

  private forget(slot: Slot): void {
    if (this.slots.get(slot.uuid) === slot) this.slots.delete(slot.uuid)
  }

  private console(uuid: string): ConsoleLog {
    let log = this.consoles.get(uuid)
    if (!log) {
      fs.mkdirSync(this.instanceDir(uuid), {recursive: true, mode: 0o755})
      log = new ConsoleLog(this.instanceDir(uuid))
      this.consoles.set(uuid, log)
    }
    return log
  }

  /** Records a change through the store, in order; the in-memory phase changes immediately. */
  private write(slot: Slot, patch: Partial<InstanceRecord>): Promise<void> {
    if (patch.state) slot.phase = patch.state
    const next = slot.writes.then(async () => {
      try {
        await this.options.update(slot.uuid, patch)
      } catch (error) {
        this.options.log(`store update for ${slot.uuid} failed: ${(error as Error).message}`)
      }
      if (patch.state) this.events.emit(`state:${slot.uuid}`)
    })
    slot.writes = next
    return next
  }

  private causeOf(options: StopOptions): ExitCause {
    if (options.reason === 'platform') return 'platform'
    return options.force ? 'forced' : 'user'
  }

  /** Spawns the instance's process and waits until it serves (start, restart, stateless wake). */
  private boot(uuid: string, kind: 'start' | 'restart' | 'wake'): Promise<void> {
    const slot = this.slot(uuid)
    const abort = new AbortController()
    slot.bootAbort = abort
    slot.booting = this.bootProcess(slot, kind, abort.signal).finally(() => {
      if (slot.bootAbort === abort) slot.bootAbort = undefined
      slot.booting = undefined
    })
    return slot.booting
  }

  private async bootProcess(slot: Slot, kind: 'start' | 'restart' | 'wake', signal: AbortSignal): Promise<void> {
    const record = this.record(slot.uuid)
    let image: ResolvedImage
    try {
      image = this.catalog.resolve(record.image) // a user-facing error, before any change
    } catch (error) {
      if (slot.phase === 'stopped' && !slot.restartTimer) this.forget(slot)
      throw error
    }
    const log = this.console(slot.uuid)
    void this.write(slot, {state: 'starting', ...(kind === 'restart' ? {restart_count: record.restart_count + 1} : {})})
    let child: InstanceProcess | undefined
    try {
      await killStaleProcess(record.pid, record.uuid)
      if (slot.endpoints.length === 0) await this.openEndpoints(slot, record, image)
      const context = this.launchContext(record, image, log)
      const plan = await image.launch(context)
      signal.throwIfAborted()
      slot.plan = plan
      const spawnedAt = process.hrtime.bigint()
      child = await InstanceProcess.spawn({
        command: plan.command,
        args: plan.args,
        env: context.env,
        cwd: context.dataDir,
        runAs: instanceIdentity(),
        output: (chunk) => log.append(chunk),
      })
      const spawned = child
      slot.process = spawned
      slot.frozen = false
      slot.exitRecorded = spawned.exited.then((exit) => this.exited(slot, spawned, exit))
      const exitedEarly = spawned.exited.then((exit) => {
        // The exit handler ran first: a stop during boot has aborted the signal with its reason.
        if (signal.aborted) throw signal.reason as Error
        throw new Error(`instance ${record.name} exited during boot with code ${exitCodeOf(exit)}; see its log`)
      })
      const port = backendPort(image.ports[0])
      let timer: NodeJS.Timeout | undefined
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const message = `instance ${record.name} did not listen on ${record.backend_ip}:${port} within ${this.timings.bootTimeoutMs / 1000} s`
          log.append(`ukc: ${message}\n`)
          reject(new Error(message))
        }, this.timings.bootTimeoutMs)
      })
      try {
        await Promise.race([waitUntilReady({host: record.backend_ip, port, check: plan.ready, signal}), exitedEarly, timedOut])
      } finally {
        clearTimeout(timer)
      }
      const bootTimeUs = Number((process.hrtime.bigint() - spawnedAt) / 1000n)
      const current = this.options.get(slot.uuid) ?? record
      await this.write(slot, {
        state: 'running',
        started_at: new Date().toISOString(),
        start_count: current.start_count + 1,
        boot_time_us: bootTimeUs,
        pid: spawned.pid,
      })
      this.running(slot, this.options.get(slot.uuid) ?? record)
      this.options.log(`instance ${record.name} (${record.uuid}) running, pid ${spawned.pid}, boot ${(bootTimeUs / 1000).toFixed(1)} ms`)
    } catch (error) {
      const cause = signal.aborted ? slot.exitCause : undefined
      if (child) {
        // The exit handler records the stop (and applies the restart policy to a failed boot).
        if (child.running) child.signal('SIGKILL')
        await slot.exitRecorded
      } else {
        // Nothing was spawned (launch error, endpoint in use) or the stop came first.
        if (!cause) log.append(`ukc: ${(error as Error).message}\n`)
        slot.exitCause = undefined
        this.closeEndpoints(slot)
        const patch: Partial<InstanceRecord> = cause
          ? {stop_reason: this.stopReasonOf(cause)}
          : {exit_code: 1, stop_reason: StopReason.appExit}
        await this.write(slot, {state: 'stopped', stopped_at: new Date().toISOString(), pid: undefined, ...patch})
        this.afterStop(slot, !cause)
      }
      if (cause) throw new Error(`instance ${record.name} was stopped while booting`)
      throw error
    }
  }

  private stopReasonOf(cause: ExitCause): number {
    if (cause === 'user') return StopReason.userStop
    if (cause === 'forced') return StopReason.forcedUserStop
    if (cause === 'standby') return StopReason.standby
    return StopReason.platformStop
  }

  /** Running: arm scale-to-zero and the healthy timer that resets the restart back-off. */
  private running(slot: Slot, record: InstanceRecord): void {
    slot.watch ??= new StandbyWatch(record.scale_to_zero ?? {policy: 'off'}, () => this.standby(slot))
    slot.watch.arm()
    if (slot.healthyTimer) clearTimeout(slot.healthyTimer)
    slot.healthyTimer = setTimeout(() => {
      slot.healthyTimer = undefined
      if (slot.phase === 'running' && (this.options.get(slot.uuid)?.restart_attempt ?? 0) > 0) {
        this.write(slot, {restart_attempt: 0, next_restart_at: undefined}).catch(() => {})
      }
    }, this.timings.healthyAfterMs)
    slot.healthyTimer.unref()
  }

  private launchContext(record: InstanceRecord, image: ResolvedImage, log: ConsoleLog): LaunchContext {
    return launchContextOf(record, image, this.instanceDir(record.uuid), this.hostsFile(record.user), (text) => log.append(text))
  }

  private async openEndpoints(slot: Slot, record: InstanceRecord, image: ResolvedImage): Promise<void> {
    const user = this.options.user(record.user)
    const ports = [...new Set([...image.ports, ...record.ports])]
    for (const port of ports) {
      const endpoint = new PrivateEndpoint({
        instanceUuid: record.uuid,
        networkIndex: user?.index ?? -1,
        host: record.private_ip,
        port,
        listenPort: endpointPort(port),
        tracker: this,
        log: this.options.log,
      })
      try {
        await endpoint.listen(ENDPOINT_RETRY_MS)
      } catch (error) {
        this.closeEndpoints(slot)
        throw new Error(`cannot open the private endpoint ${endpoint.address} of ${record.name}: ${(error as Error).message}`)
      }
      slot.endpoints.push(endpoint)
    }
  }

  private closeEndpoints(slot: Slot): void {
    for (const endpoint of slot.endpoints) endpoint.close()
    slot.endpoints = []
  }

  /** A process exited: record it, then apply the restart policy and tell the store. */
  private async exited(slot: Slot, child: InstanceProcess, exit: Exit): Promise<void> {
    if (slot.process !== child) return
    slot.process = undefined
    slot.frozen = false
    if (slot.healthyTimer) clearTimeout(slot.healthyTimer)
    slot.healthyTimer = undefined
    const cause = slot.exitCause
    slot.exitCause = undefined
    const exitCode = exitCodeOf(exit)
    slot.bootAbort?.abort(
      new Error(cause ? 'the instance was stopped while booting' : `the instance process exited during boot with code ${exitCode}; see its log`),
    )
    if (cause === 'standby') {
      // Stateless standby: the process is gone on purpose, the endpoints stay.
      await this.write(slot, {exit_code: exitCode, pid: undefined})
      return
    }
    slot.watch?.disarm()
    const stopReason = cause ? this.stopReasonOf(cause) : exit.signal ? StopReason.crash : StopReason.appExit
    this.closeEndpoints(slot)
    this.options.log(`instance ${slot.uuid} stopped (${cause ?? 'exited'}, exit code ${exitCode}, stop_reason ${stopReason})`)
    if (!cause) this.console(slot.uuid).append(`ukc: the instance process exited with code ${exitCode}\n`)
    await this.write(slot, {state: 'stopped', stopped_at: new Date().toISOString(), exit_code: exitCode, stop_reason: stopReason, pid: undefined})
    this.afterStop(slot, cause === undefined, exitCode)
  }

  /** Restart policy (for an app exit), then onStopped. */
  private afterStop(slot: Slot, appExit: boolean, exitCode = 1): void {
    const record = this.options.get(slot.uuid)
    const restart =
      appExit && !slot.quiet && !this.closing && record?.desired === 'running' && shouldRestart(record.restart_policy, exitCode)
    if (record && restart) this.scheduleRestart(slot, record)
    else {
      slot.watch = undefined
      this.forget(slot)
    }
    if (!slot.quiet && !this.closing) this.options.onStopped(slot.uuid)
  }

  private scheduleRestart(slot: Slot, record: InstanceRecord): void {
    const attempt = record.restart_attempt
    const delayMs = restartDelay(attempt)
    this.write(slot, {restart_attempt: attempt + 1, next_restart_at: new Date(Date.now() + delayMs).toISOString()}).catch(() => {})
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined
      if (!this.options.get(slot.uuid) || slot.phase !== 'stopped') return
      this.write(slot, {next_restart_at: undefined}).catch(() => {})
      this.boot(slot.uuid, 'restart').catch((error: Error) => this.options.log(`restart ${slot.uuid}: ${error.message}`))
    }, delayMs)
    slot.restartTimer.unref()
  }

  private cancelRestart(slot: Slot): void {
    if (slot.restartTimer) clearTimeout(slot.restartTimer)
    slot.restartTimer = undefined
  }

  /** Graceful or forced stop of a live instance (drain first when asked). */
  private async halt(slot: Slot, options: StopOptions): Promise<void> {
    slot.watch?.disarm()
    slot.exitCause = this.causeOf(options)
    if (slot.booting && !slot.process) {
      // Still preparing (e.g. initdb): abort before anything is spawned.
      slot.bootAbort?.abort(new Error('stopped'))
      await slot.booting.catch(() => {})
    }
    if (!options.force && options.drainTimeoutMs > 0 && slot.phase === 'running') {
      await this.write(slot, {state: 'draining'})
      for (const endpoint of slot.endpoints) endpoint.stopAccepting()
      await this.drained(slot, options.drainTimeoutMs)
    }
    const child = slot.process
    if (!child) {
      // Stateless standby (or a boot that never spawned): nothing to signal.
      if (slot.phase !== 'stopped') {
        slot.exitCause = undefined
        this.closeEndpoints(slot)
        const reason = this.stopReasonOf(this.causeOf(options))
        await this.write(slot, {state: 'stopped', stopped_at: new Date().toISOString(), stop_reason: reason, pid: undefined})
        this.afterStop(slot, false)
      }
      return
    }
    await this.write(slot, {state: 'stopping'})
    for (const endpoint of slot.endpoints) endpoint.stopAccepting()
    const plan = slot.plan
    child.signal(options.force ? 'SIGKILL' : (plan?.stopSignal ?? 'SIGTERM'))
    if (slot.frozen) child.thaw() // frozen processes handle the signal once thawed
    const kill = setTimeout(() => child.signal('SIGKILL'), this.timings.stopGraceMs)
    try {
      await child.exited
      await slot.exitRecorded
    } finally {
      clearTimeout(kill)
    }
  }

  private drained(slot: Slot, timeoutMs: number): Promise<void> {
    if (slot.connections === 0) return Promise.resolve()
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        this.events.off(`drained:${slot.uuid}`, done)
        resolve()
      }
      const timer = setTimeout(done, timeoutMs)
      this.events.on(`drained:${slot.uuid}`, done)
    })
  }

  /** Scale-to-zero decided this running instance is idle. */
  private standby(slot: Slot): void {
    const record = this.options.get(slot.uuid)
    const child = slot.process
    if (slot.phase !== 'running' || !record || !child || slot.stopping) return
    this.options.log(`instance ${record.name} (${record.uuid}) to standby (${record.scale_to_zero?.stateful ? 'frozen' : 'stopped'})`)
    if (record.scale_to_zero?.stateful) {
      // Stateful: freeze the whole process group; memory and sockets stay, resume is a SIGCONT.
      child.freeze()
      slot.frozen = true
      this.write(slot, {state: 'standby', stop_reason: StopReason.standby}).catch(() => {})
      return
    }
    // Stateless: the process goes; the next connection boots it again.
    slot.exitCause = 'standby'
    this.write(slot, {state: 'standby', stop_reason: StopReason.standby, stopped_at: new Date().toISOString()}).catch(() => {})
    child.signal(slot.plan?.stopSignal ?? 'SIGTERM')
    const kill = setTimeout(() => child.signal('SIGKILL'), this.timings.stopGraceMs)
    void child.exited.then(() => clearTimeout(kill))
  }

  /** standby → running: thaw (stateful) or boot again (stateless). Concurrent callers share it. */
  private wake(slot: Slot): Promise<void> {
    if (slot.waking) return slot.waking
    if (slot.phase !== 'standby') return slot.booting ?? Promise.resolve()
    if (slot.frozen && slot.process) {
      slot.process.thaw()
      slot.frozen = false
      this.write(slot, {state: 'running'}).catch(() => {}) // persisted behind the held connection, not before it
      slot.watch?.arm()
      return Promise.resolve()
    }
    slot.waking = (async () => {
      // The old process must have released its port before the new one binds it.
      const previous = slot.exitRecorded
      if (previous) await previous
      if (slot.phase !== 'standby') return
      await this.boot(slot.uuid, 'wake')
    })().finally(() => {
      slot.waking = undefined
    })
    return slot.waking
  }
}
