// One instance's supervisor: the only thing that changes the instance's state. Every request
// (start, stop, remove, a connection) and every happening (boot outcome, process exit, timers) is an
// event; `decide` (instance-transitions.ts) says where it leads and this class runs the effects.
// It owns the instance's process, private endpoints, connection count, scale-to-zero watch,
// restart timers and console log, and closes them all in `dispose`.
// Longer than ~350 lines: the effects of every transition belong to the one owner of the state.
import {ConnectionCount, InstanceEndpoints, type AddressAdmission} from '../network/index.js'
import {StandbyWatch} from '../scaler/index.js'
import type {BackendAddress, ConnectionTracker, InstanceRecord, Logger} from '../types.js'
import {bootInstance, type Spawned} from './boot-sequence.js'
import type {ImageCatalog} from './catalog.js'
import {CONSOLE_LOG_BYTES, ConsoleLog} from './console-log.js'
import {makeReadableDir, type RunAs} from './identity.js'
import {exitCodeOf, type Exit, type InstanceProcess} from './instance-process.js'
import {causeOf, decide, type Decision, type Effect, type InstanceEvent, type StopCause, type SupervisedState} from './instance-transitions.js'
import type {LaunchPlan} from './launch.js'
import type {VolumeMount} from '../volumes/index.js'
import {backendPort} from './ports.js'
import {RestartSchedule} from './restart-schedule.js'
import {StateWaiter} from './state-waiter.js'

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

export interface SupervisorOptions {
  uuid: string
  /** Who the process runs as: the identity policy's answer for the instance's user. */
  runAs: RunAs | undefined
  /** The user's network index (connections from other networks are refused). */
  networkIndex: number
  /** Where its private endpoints listen. */
  privateIp: string
  /** Where its process listens. */
  backendIp: string
  /** The kernel's rules for the private network, when they are enforced (admits the user's uid). */
  firewall?: AddressAdmission
  instanceDir: string
  hostsFile: string
  catalog: ImageCatalog
  /** Where the private endpoints report connections (the runtime, which dispatches back here). */
  tracker: ConnectionTracker
  timings: RuntimeTimings
  log: Logger
  record(): InstanceRecord | undefined
  /** Applies `patch` to the record at once and persists it in the background. */
  update(patch: Partial<InstanceRecord>): void
  /** The state changed (the record already says so). */
  changed(): void
  /** The instance is stopped for good (not after a platform stop or a removal): delete-on-stop. */
  settled(): void
  /** Mounts the instance's volumes for a boot (see RuntimeOptions.mountVolumes). */
  mountVolumes(): Promise<VolumeMount[]>
}

/** How long after reaching `running` the kernel starts forwarding (forwardSoon). */
const FORWARD_AFTER_RUNNING_MS = 100

export class InstanceSupervisor {
  readonly connections = new ConnectionCount()
  private current: SupervisedState = 'stopped'
  private process: InstanceProcess | undefined
  /** Kernel forwarding, applied a moment after the instance runs (see `forwardSoon`). */
  private forwardTimer: NodeJS.Timeout | undefined
  private plan: LaunchPlan | undefined
  private frozen = false
  private stopCause: StopCause | undefined
  private boot: AbortController | undefined
  private bootError: Error | undefined
  private bootTimeUs = 0
  /** A process retired by a stateless standby, until it has exited. */
  private retiring: Promise<void> | undefined
  private cancelDrain: (() => void) | undefined
  private watch: StandbyWatch | undefined
  private console: ConsoleLog | undefined
  private booted = new StateWaiter()
  private stopped = new StateWaiter()
  private readonly endpoints: InstanceEndpoints
  private readonly restarts: RestartSchedule

  constructor(private readonly options: SupervisorOptions) {
    const {firewall, runAs, privateIp: host} = options
    const admission = firewall && runAs ? {firewall, uid: runAs.uid, addresses: [host, options.backendIp]} : undefined
    this.endpoints = new InstanceEndpoints({instanceUuid: options.uuid, networkIndex: options.networkIndex, host, tracker: options.tracker, log: options.log, admission})
    this.connections.forwarded = () => this.endpoints.forwardedConnections()
    this.restarts = new RestartSchedule({
      healthyAfterMs: options.timings.healthyAfterMs,
      due: () => this.dispatch({type: 'restartDue'}),
      healthy: () => this.dispatch({type: 'healthy'}),
    })
  }

  // ---- requests

  /** Resolves once running; rejects with the reason when the boot fails or a stop comes first. */
  async start(): Promise<void> {
    const record = this.options.record()
    if (record) this.options.catalog.resolve(record.image) // a user-facing error, before any change
    if (this.dispatch({type: 'start'}).kind === 'refuse') {
      await this.stopped.promise // draining or stopping: start once it is stopped
      return this.start()
    }
    return this.untilRunning()
  }

  /** Resolves once stopped. */
  stop(options: StopOptions): Promise<void> {
    if (options.reason === 'user') this.options.update({desired: 'stopped'})
    const cause = options.reason === 'platform' ? 'platform' : options.force ? 'forced' : 'user'
    this.dispatch({type: 'stop', cause, drainMs: options.force ? 0 : options.drainTimeoutMs})
    return this.current === 'stopped' ? Promise.resolve() : this.stopped.promise
  }

  /** Stops at once (no restart, no delete-on-stop), then releases everything. */
  async remove(): Promise<void> {
    this.dispatch({type: 'remove'})
    if (this.current !== 'stopped') await this.stopped.promise
    await this.dispose()
  }

  /** Releases what is left (after a stop): timers, endpoints, the console log. */
  async dispose(): Promise<void> {
    clearTimeout(this.forwardTimer)
    this.restarts.close()
    this.watch?.disarm()
    this.cancelDrain?.()
    this.endpoints.close()
    await this.retiring
    this.console?.close()
    this.console = undefined
  }

  /** The console log (created with the instance's directory on first use). */
  log(): ConsoleLog {
    if (!this.console) {
      makeReadableDir(this.options.runAs, this.options.instanceDir)
      this.console = new ConsoleLog(this.options.instanceDir, CONSOLE_LOG_BYTES, this.options.runAs)
    }
    return this.console
  }

  // ---- connections (the runtime's ConnectionTracker dispatches here)

  async open(port: number): Promise<BackendAddress> {
    const record = this.options.record()
    if (!record || !['running', 'standby', 'starting'].includes(this.current)) throw this.notRunning()
    this.connections.opened()
    this.watch?.opened()
    const held = this.current !== 'running'
    if (held) this.connections.queued += 1
    try {
      if (this.current === 'standby') this.dispatch({type: 'wake'})
      await this.untilRunning()
    } catch (error) {
      this.close()
      throw error
    } finally {
      if (held) this.connections.queued -= 1
    }
    return {host: record.backend_ip, port: backendPort(port)}
  }

  activity(): void {
    this.watch?.activity()
    // Bytes for an idle-frozen instance (policy `idle`, connections kept open): wake it.
    if (this.current === 'standby' && this.frozen) this.dispatch({type: 'wake'})
  }

  close(): void {
    if (this.connections.tracked === 0) return
    this.connections.closed()
    this.watch?.closed()
  }

  // ---- the machine

  private dispatch(event: InstanceEvent): Decision {
    const record = this.options.record()
    if (!record) return {kind: 'ignore', why: 'the instance is gone'}
    const decision = decide(this.current, event, {
      hasProcess: this.process !== undefined,
      frozen: this.frozen,
      stateful: record.scale_to_zero?.stateful === true,
      restartPolicy: record.restart_policy,
      desired: record.desired,
      restartPending: this.restarts.pending,
      stopCause: this.stopCause,
    })
    if (decision.kind !== 'move') return decision
    const from = this.current
    const to = decision.to
    this.current = to
    if (from === 'stopped' && to !== 'stopped') this.stopped = new StateWaiter()
    if (to === 'starting' && from !== 'starting') this.booted = new StateWaiter()
    const patch: Partial<InstanceRecord> = {...decision.patch, ...(to === from ? {} : {state: to})}
    if (to === 'stopped' && from !== 'stopped') Object.assign(patch, {stopped_at: new Date().toISOString(), pid: undefined})
    const after: Array<() => void> = []
    for (const effect of decision.effects) Object.assign(patch, this.run(effect, event, record, after))
    this.options.update(patch)
    if (from === 'starting' && to !== 'starting') {
      if (to === 'running') this.booted.resolve()
      else this.booted.reject(this.bootError ?? this.bootEndedBy(event, record))
    }
    if (to === 'stopped' && from !== 'stopped') {
      this.stopCause = undefined
      this.options.log(`instance ${record.name} (${record.uuid}) stopped (${event.type}, exit code ${patch.exit_code ?? record.exit_code ?? '-'}, stop_reason ${patch.stop_reason ?? record.stop_reason ?? '-'})`)
      this.stopped.resolve()
    }
    if (to !== from) this.options.changed()
    if (to === 'running' && from !== 'running' && this.forwards(record)) this.forwardSoon()
    if (from === 'running' && to !== 'running') {
      clearTimeout(this.forwardTimer)
      void this.endpoints.unforward()
    }
    for (const action of after) action()
    return decision
  }

  // ---- kernel forwarding (while running; see network/instance-endpoints.ts)

  /**
   * The kernel forwards new connections to the private IP while the instance runs, where it can and
   * where scale-to-zero does not need the bytes of kept connections (policy `idle` watches them, and
   * a frozen instance wakes on them): those instances keep the private endpoints.
   */
  private forwards(record: InstanceRecord): boolean {
    return this.endpoints.canForward && record.scale_to_zero?.policy !== 'idle'
  }

  /**
   * Forwarding starts FORWARD_AFTER_RUNNING_MS after the instance runs, not at once: applying it
   * spawns `nft`, which on the event loop of the connection that woke the instance (or of the API
   * call that started it) costs that connection's first byte ~15 ms. The endpoints carry connections
   * meanwhile, as they do in standby.
   */
  private forwardSoon(): void {
    clearTimeout(this.forwardTimer)
    this.forwardTimer = setTimeout(() => {
      this.forwardTimer = undefined
      const record = this.options.record()
      if (this.current === 'running' && record && this.forwards(record)) this.forward(record)
    }, FORWARD_AFTER_RUNNING_MS)
    this.forwardTimer.unref()
  }

  private forward(record: InstanceRecord): void {
    this.endpoints.forward((port) => ({host: record.backend_ip, port: backendPort(port)}))
  }

  /**
   * The watch found no connection for the cooldown. Where the kernel forwards, new connections go
   * back to the endpoints first (so that one arriving now wakes the instance instead of reaching a
   * frozen or retired process), then the count is read again: a connection forwarded meanwhile keeps
   * the instance running.
   */
  private async idle(): Promise<void> {
    const record = this.options.record()
    if (record && this.forwards(record)) {
      await this.endpoints.unforward()
      if (this.current !== 'running') return
      if (this.connections.open > 0) {
        this.forward(record)
        this.watch?.arm()
        return
      }
    }
    this.dispatch({type: 'idle'})
  }

  /** Runs one effect; returns what it records. Work that must follow the record update goes to `after`. */
  private run(effect: Effect, event: InstanceEvent, record: InstanceRecord, after: Array<() => void>): Partial<InstanceRecord> | void {
    switch (effect) {
      case 'wantRunning':
        return {desired: 'running'}
      case 'resetBackoff':
        return {restart_attempt: 0, next_restart_at: undefined}
      case 'cancelRestart':
        this.restarts.cancel()
        return {next_restart_at: undefined}
      case 'beginRestart':
        return {restart_count: record.restart_count + 1, next_restart_at: undefined}
      case 'boot':
        after.push(() => void this.runBoot())
        return
      case 'abortBoot':
        this.boot?.abort()
        return
      case 'recordBoot':
        this.options.log(`instance ${record.name} (${record.uuid}) running, pid ${this.process?.pid}, boot ${(this.bootTimeUs / 1000).toFixed(1)} ms`)
        return {started_at: new Date().toISOString(), start_count: record.start_count + 1, boot_time_us: this.bootTimeUs, pid: this.process?.pid}
      case 'armScaler':
        this.watch ??= new StandbyWatch({
          policy: record.scale_to_zero ?? {policy: 'off'},
          connections: () => this.connections.tracked,
          onIdle: () => void this.idle(),
          forwarded: this.forwards(record) ? () => this.endpoints.forwardedReading() : undefined,
        })
        this.watch.arm()
        return
      case 'disarmScaler':
        this.watch?.disarm()
        return
      case 'armHealthy':
        this.restarts.armHealthy()
        return
      case 'disarmHealthy':
        this.restarts.disarmHealthy()
        return
      case 'noteCause':
        this.stopCause = causeOf(event, this.stopCause)
        return
      case 'stopAccepting':
        this.endpoints.stopAccepting()
        return
      case 'awaitDrain':
        this.cancelDrain = this.connections.whenDrained(event.type === 'stop' ? event.drainMs : 0, () => this.dispatch({type: 'drained'}))
        return
      case 'cancelDrain':
        this.cancelDrain?.()
        this.cancelDrain = undefined
        return
      case 'signalStop': {
        const forced = this.stopCause === 'forced' || this.stopCause === 'removed'
        this.process?.terminate(forced ? 'SIGKILL' : (this.plan?.stopSignal ?? 'SIGTERM'), this.options.timings.stopGraceMs)
        return
      }
      case 'freeze':
        this.options.log(`instance ${record.name} (${record.uuid}) to standby (frozen)`)
        this.process?.freeze()
        this.frozen = true
        return
      case 'thaw':
        this.process?.thaw()
        this.frozen = false
        return
      case 'retire':
        this.options.log(`instance ${record.name} (${record.uuid}) to standby (stopped)`)
        this.retire()
        return {stopped_at: new Date().toISOString()}
      case 'closeEndpoints':
        this.endpoints.close()
        return
      case 'scheduleRestart': {
        const at = this.restarts.schedule(record.restart_attempt)
        this.options.log(`instance ${record.name} (${record.uuid}) restarts at ${at.toISOString()} (${record.restart_policy})`)
        return {restart_attempt: record.restart_attempt + 1, next_restart_at: at.toISOString()}
      }
      case 'settle':
        after.push(() => this.options.settled())
        return {desired: 'stopped', next_restart_at: undefined}
    }
  }

  /** The `boot` effect: runs the boot sequence and reports its outcome as events. */
  private async runBoot(): Promise<void> {
    const abort = new AbortController()
    this.boot = abort
    this.bootError = undefined
    const record = this.options.record()
    if (!record) return // removed meanwhile
    const {catalog, instanceDir, hostsFile, runAs, timings} = this.options
    const place = {instanceDir, hostsFile, runAs, console: (text: string) => this.log().append(text), mountVolumes: this.options.mountVolumes}
    const input = {record, catalog, bootTimeoutMs: timings.bootTimeoutMs, endpoints: this.endpoints, place, retiring: this.retiring, output: (chunk: Buffer) => this.log().append(chunk)}
    const outcome = await bootInstance(input, abort.signal, (spawned) => this.adopt(spawned))
    if (outcome.kind === 'ready') {
      this.bootTimeUs = outcome.bootTimeUs
      this.dispatch({type: 'booted'})
      return
    }
    if (outcome.kind === 'aborted') return
    this.bootError = outcome.error
    if (outcome.error) this.log().append(`ukc: ${outcome.error.message}\n`)
    if (outcome.kind === 'notSpawned') this.dispatch({type: 'bootFailed'})
  }

  private adopt({child, plan}: Spawned): void {
    this.process = child
    this.plan = plan
    this.frozen = false
    void child.exited.then((exit) => this.exited(child, exit))
    this.dispatch({type: 'spawned'})
  }

  private exited(child: InstanceProcess, exit: Exit): void {
    if (this.process !== child) return // retired by a stateless standby
    if (['starting', 'running', 'standby'].includes(this.current)) {
      this.log().append(`ukc: the instance process exited with code ${exitCodeOf(exit)}\n`)
    }
    this.dispatch({type: 'exited', exit})
    this.process = undefined
    this.frozen = false
  }

  /** Stateless standby: the process goes away on its own time; the next boot waits for its port. */
  private retire(): void {
    const child = this.process
    if (!child) return
    this.process = undefined
    this.frozen = false
    child.terminate(this.plan?.stopSignal ?? 'SIGTERM', this.options.timings.stopGraceMs)
    const retiring: Promise<void> = child.exited.then((exit) => {
      if (this.retiring === retiring) this.retiring = undefined
      if (!this.process) this.options.update({exit_code: exitCodeOf(exit), pid: undefined})
    })
    this.retiring = retiring
  }

  private untilRunning(): Promise<void> {
    if (this.current === 'running') return Promise.resolve()
    if (this.current === 'starting') return this.booted.promise
    return Promise.reject(this.notRunning())
  }

  private bootEndedBy(event: InstanceEvent, record: InstanceRecord): Error {
    if (event.type === 'exited') return new Error(`instance ${record.name} exited during boot with code ${exitCodeOf(event.exit)}; see its log`)
    return new Error(`instance ${record.name} was stopped while booting`)
  }

  private notRunning(): Error {
    return new Error(`instance ${this.options.record()?.name ?? this.options.uuid} is not running`)
  }
}
