// The life of one instance as data: for every state of the API and every event, which state it
// moves to, what is recorded (stop_reason, exit_code) and which effects the supervisor runs, in
// order. A cell is a list of rows; the first row whose guards all hold applies, and the last row of
// every cell has no guard. Rows that do not move say why the event is ignored or refused.
// `decide` is pure; instance-supervisor.ts executes the effects. docs/platform-runtime.md shows
// this table; test/platform/runtime-transitions.test.ts walks it completely.
import type {InstanceState, RestartPolicy} from '../types.js'
import {exitCodeOf, type Exit} from './instance-process.js'
import {shouldRestart} from './restart-policy.js'
import {StopReason} from './stop-reason.js'

export const STATES = ['stopped', 'starting', 'running', 'draining', 'stopping', 'standby'] as const satisfies readonly InstanceState[]

/** The states an instance of the platform goes through (the API's, without `template`). */
export type SupervisedState = (typeof STATES)[number]

/** Why an instance is being stopped: a user (graceful or forced), the platform (shutdown), or its removal. */
export type StopCause = 'user' | 'forced' | 'platform' | 'removed'

export type InstanceEvent =
  /** A user start, an autostart, or a platform restart bringing back what should run. */
  | {type: 'start'}
  /** The boot sequence spawned the process. */
  | {type: 'spawned'}
  /** The process serves its port (readiness passed). */
  | {type: 'booted'}
  /** The boot sequence failed before a process existed (launch error, endpoint in use), or was aborted. */
  | {type: 'bootFailed'}
  /** The instance's process exited (by itself, or after a signal the platform sent). */
  | {type: 'exited'; exit: Exit}
  /** Stop asked by a user (graceful with an optional drain, or forced) or by the platform (shutdown). */
  | {type: 'stop'; cause: 'user' | 'forced' | 'platform'; drainMs: number}
  /** The drain finished: no connection left, or its timeout passed. */
  | {type: 'drained'}
  /** Scale-to-zero: the cooldown passed without (or with silent) connections. */
  | {type: 'idle'}
  /** A connection (or bytes on a kept one) arrived for an instance on standby. */
  | {type: 'wake'}
  /** Running for the healthy period: the restart back-off starts over. */
  | {type: 'healthy'}
  /** The pending restart's back-off has passed. */
  | {type: 'restartDue'}
  /** The instance is being deleted. */
  | {type: 'remove'}

export type EventType = InstanceEvent['type']

export const EVENT_TYPES = [
  'start',
  'spawned',
  'booted',
  'bootFailed',
  'exited',
  'stop',
  'drained',
  'idle',
  'wake',
  'healthy',
  'restartDue',
  'remove',
] as const satisfies readonly EventType[]

/** What the supervisor knows that the guards read. */
export interface Situation {
  /** A live process belongs to the instance (not one retired by a stateless standby). */
  hasProcess: boolean
  /** Stateful standby: the process is frozen. */
  frozen: boolean
  /** Scale-to-zero keeps the process (freeze) instead of stopping it. */
  stateful: boolean
  restartPolicy: RestartPolicy
  desired: 'running' | 'stopped'
  restartPending: boolean
  /** Why it is draining or stopping (set by `noteCause`). */
  stopCause: StopCause | undefined
}

export const EFFECTS = {
  wantRunning: 'desired = running',
  resetBackoff: 'restart_attempt = 0, next_restart_at cleared',
  cancelRestart: 'cancel the pending restart, next_restart_at cleared',
  beginRestart: 'restart_count + 1, next_restart_at cleared',
  boot: 'run the boot sequence: endpoints, launch plan, spawn, readiness (reports spawned/booted/bootFailed)',
  abortBoot: 'abort the boot sequence (preparation or readiness wait)',
  recordBoot: 'started_at, start_count + 1, boot_time_us, pid',
  armScaler: 'arm scale-to-zero',
  disarmScaler: 'disarm scale-to-zero',
  armHealthy: 'arm the healthy timer',
  disarmHealthy: 'disarm the healthy timer',
  noteCause: 'remember why it stops',
  stopAccepting: 'private endpoints stop accepting and the kernel stops forwarding to the instance (open connections continue)',
  awaitDrain: 'wait for the open connections to end, at most the drain timeout (reports drained)',
  cancelDrain: 'stop waiting for the drain',
  signalStop: "the image's stop signal (SIGKILL when forced or removed), SIGKILL after the grace period",
  freeze: 'SIGSTOP to every process of the instance',
  thaw: 'SIGCONT to every process of the instance',
  retire: 'stop signal to the process, which is no longer the instance\'s (stopped_at; its exit clears pid); endpoints stay',
  closeEndpoints: 'close the private endpoints, end kernel forwarding (open connections are reset)',
  scheduleRestart: 'arm the restart after the back-off; restart_attempt + 1, next_restart_at',
  settle: 'stopped for good: desired = stopped, then the platform is told (delete-on-stop)',
} as const

export type Effect = keyof typeof EFFECTS

/** What a row records about the stop. */
export const RECORDINGS = {
  exit: 'exit_code of the process; stop_reason 3 (app exit), or 1 when a signal nobody on the platform sent killed it',
  bootFailure: 'exit_code 1, stop_reason 3',
  cause: 'stop_reason of the stop cause (15 user, 28 forced, 7 platform/removed); exit_code of the process if it exited',
  standby: 'stop_reason 39',
} as const

export type Recording = keyof typeof RECORDINGS

export const GUARDS = {
  hasProcess: (s: Situation) => s.hasProcess,
  frozen: (s: Situation) => s.frozen,
  stateful: (s: Situation) => s.stateful,
  restartPending: (s: Situation) => s.restartPending,
  /** The app exited (or failed to boot) by itself, the user still wants it running, and the policy says so. */
  restartWanted: (s: Situation, e: InstanceEvent) => s.desired === 'running' && shouldRestart(s.restartPolicy, exitCodeOfEvent(e)),
  /** A graceful user stop with a drain timeout. */
  drain: (_s: Situation, e: InstanceEvent) => e.type === 'stop' && e.cause === 'user' && e.drainMs > 0,
  forced: (_s: Situation, e: InstanceEvent) => e.type === 'stop' && e.cause === 'forced',
  /** The stop was asked by a user (so it counts as stopping for good). */
  byUser: (s: Situation, e: InstanceEvent) => isUserCause(causeOf(e, s.stopCause)),
} as const

export type Guard = keyof typeof GUARDS

export type Row =
  | {when?: Guard[]; to: SupervisedState; record?: Recording; effects: Effect[]}
  | {when?: Guard[]; ignore: string}
  | {when?: Guard[]; refuse: string}

export type Cell = Row[]

const ignore = (why: string): Cell => [{ignore: why}]
const refuse = (why: string): Cell => [{refuse: why}]
const NO_BOOT = 'no boot sequence is running'
const NOT_RUNNING = 'the instance is not running'
const STOPPING = 'the instance is stopping: start it again once it is stopped'

/** Exits of a process nobody asked to stop: restart under the policy, or stopped for good. */
const selfExit = (record: Recording, effects: Effect[]): Cell => [
  {when: ['restartWanted'], to: 'stopped', record, effects: [...effects, 'scheduleRestart']},
  {to: 'stopped', record, effects: [...effects, 'settle']},
]

/** Ends of a stop: for good when a user asked; a platform stop or a removal keeps `desired`. */
const stopEnd = (effects: Effect[]): Cell => [
  {when: ['byUser'], to: 'stopped', record: 'cause', effects: [...effects, 'settle']},
  {to: 'stopped', record: 'cause', effects},
]

const wake: Cell = [
  {when: ['frozen'], to: 'running', effects: ['thaw', 'armScaler']},
  {to: 'starting', effects: ['boot']},
]

export const TRANSITIONS: Record<SupervisedState, Record<EventType, Cell>> = {
  stopped: {
    start: [{to: 'starting', effects: ['cancelRestart', 'wantRunning', 'resetBackoff', 'boot']}],
    spawned: ignore(NO_BOOT),
    booted: ignore(NO_BOOT),
    bootFailed: ignore(NO_BOOT),
    exited: ignore('no process'),
    stop: [
      {when: ['restartPending', 'byUser'], to: 'stopped', effects: ['cancelRestart', 'settle']},
      {when: ['restartPending'], to: 'stopped', effects: ['cancelRestart']},
      {ignore: 'already stopped'},
    ],
    drained: ignore('not draining'),
    idle: ignore(NOT_RUNNING),
    wake: refuse(NOT_RUNNING),
    healthy: ignore(NOT_RUNNING),
    restartDue: [{to: 'starting', effects: ['beginRestart', 'boot']}],
    remove: [{to: 'stopped', effects: ['cancelRestart', 'closeEndpoints']}],
  },
  starting: {
    start: ignore('already starting: the caller waits for this boot'),
    spawned: [{to: 'starting', effects: []}],
    booted: [{to: 'running', effects: ['recordBoot', 'armScaler', 'armHealthy']}],
    bootFailed: selfExit('bootFailure', ['closeEndpoints']),
    exited: selfExit('exit', ['abortBoot', 'closeEndpoints']),
    // Without a process yet the stop waits for the boot sequence to give up (bootFailed) or to
    // hand over its process (spawned), which then gets the stop signal.
    stop: [{to: 'stopping', effects: ['noteCause', 'abortBoot', 'stopAccepting', 'signalStop']}],
    drained: ignore('not draining'),
    idle: ignore('scale-to-zero is armed only while running'),
    wake: ignore('already starting: the connection waits for this boot'),
    healthy: ignore(NOT_RUNNING),
    restartDue: ignore('no restart is pending while starting'),
    remove: [{to: 'stopping', effects: ['noteCause', 'abortBoot', 'stopAccepting', 'signalStop']}],
  },
  running: {
    start: ignore('already running'),
    spawned: ignore(NO_BOOT),
    booted: ignore(NO_BOOT),
    bootFailed: ignore(NO_BOOT),
    exited: selfExit('exit', ['disarmScaler', 'disarmHealthy', 'closeEndpoints']),
    stop: [
      {when: ['drain'], to: 'draining', effects: ['noteCause', 'disarmScaler', 'stopAccepting', 'awaitDrain']},
      {to: 'stopping', effects: ['noteCause', 'disarmScaler', 'stopAccepting', 'signalStop']},
    ],
    drained: ignore('not draining'),
    idle: [
      {when: ['stateful'], to: 'standby', record: 'standby', effects: ['freeze']},
      {to: 'standby', record: 'standby', effects: ['retire']},
    ],
    wake: ignore('already running'),
    healthy: [{to: 'running', effects: ['resetBackoff']}],
    restartDue: ignore('no restart is pending while running'),
    remove: [{to: 'stopping', effects: ['noteCause', 'disarmScaler', 'stopAccepting', 'signalStop']}],
  },
  draining: {
    start: refuse(STOPPING),
    spawned: ignore(NO_BOOT),
    booted: ignore(NO_BOOT),
    bootFailed: ignore(NO_BOOT),
    exited: stopEnd(['cancelDrain', 'disarmHealthy', 'closeEndpoints']),
    stop: [
      {when: ['forced'], to: 'stopping', effects: ['noteCause', 'cancelDrain', 'signalStop']},
      {when: ['byUser'], ignore: 'already draining'},
      {to: 'stopping', effects: ['noteCause', 'cancelDrain', 'signalStop']},
    ],
    drained: [{to: 'stopping', effects: ['cancelDrain', 'signalStop']}],
    idle: ignore(NOT_RUNNING),
    wake: refuse(NOT_RUNNING),
    healthy: ignore(NOT_RUNNING),
    restartDue: ignore('no restart is pending while draining'),
    remove: [{to: 'stopping', effects: ['noteCause', 'cancelDrain', 'signalStop']}],
  },
  stopping: {
    start: refuse(STOPPING),
    spawned: [{to: 'stopping', effects: ['signalStop']}],
    booted: ignore('the stop came first'),
    bootFailed: stopEnd(['closeEndpoints']),
    exited: stopEnd(['disarmHealthy', 'closeEndpoints']),
    stop: [{when: ['forced'], to: 'stopping', effects: ['noteCause', 'signalStop']}, {ignore: 'already stopping'}],
    drained: ignore('not draining'),
    idle: ignore(NOT_RUNNING),
    wake: refuse(NOT_RUNNING),
    healthy: ignore(NOT_RUNNING),
    restartDue: ignore('no restart is pending while stopping'),
    remove: [{to: 'stopping', effects: ['noteCause', 'signalStop']}],
  },
  standby: {
    start: wake,
    spawned: ignore(NO_BOOT),
    booted: ignore(NO_BOOT),
    bootFailed: ignore(NO_BOOT),
    // Only a frozen process can exit here (a stateless standby has none): it died.
    exited: selfExit('exit', ['disarmHealthy', 'closeEndpoints']),
    stop: [
      {when: ['hasProcess'], to: 'stopping', effects: ['noteCause', 'stopAccepting', 'signalStop', 'thaw']},
      ...stopEnd(['closeEndpoints']),
    ],
    drained: ignore('not draining'),
    idle: ignore('already on standby'),
    wake,
    healthy: ignore(NOT_RUNNING),
    restartDue: ignore('no restart is pending on standby'),
    remove: [
      {when: ['hasProcess'], to: 'stopping', effects: ['noteCause', 'stopAccepting', 'signalStop', 'thaw']},
      {to: 'stopped', record: 'cause', effects: ['closeEndpoints']},
    ],
  },
}

export type Decision =
  | {kind: 'move'; to: SupervisedState; patch: {stop_reason?: number; exit_code?: number}; effects: Effect[]}
  | {kind: 'ignore'; why: string}
  | {kind: 'refuse'; why: string}

/** The row that applies to `event` in `state`, as a decision with what it records. */
export function decide(state: SupervisedState, event: InstanceEvent, situation: Situation): Decision {
  const row = rowFor(state, event, situation)
  if ('ignore' in row) return {kind: 'ignore', why: row.ignore}
  if ('refuse' in row) return {kind: 'refuse', why: row.refuse}
  return {kind: 'move', to: row.to, patch: row.record ? recorded(row.record, event, situation) : {}, effects: row.effects}
}

/** The first row of the cell whose guards all hold. */
export function rowFor(state: SupervisedState, event: InstanceEvent, situation: Situation): Row {
  const row = TRANSITIONS[state][event.type].find((candidate) => (candidate.when ?? []).every((guard) => GUARDS[guard](situation, event)))
  if (!row) throw new Error(`the transition table has no row for ${event.type} in ${state}`)
  return row
}

/** The stop cause an event brings (stop, remove), else the one noted when the stop began. */
export function causeOf(event: InstanceEvent, noted: StopCause | undefined): StopCause | undefined {
  if (event.type === 'stop') return event.cause
  if (event.type === 'remove') return 'removed'
  return noted
}

export function isUserCause(cause: StopCause | undefined): boolean {
  return cause === 'user' || cause === 'forced'
}

export function stopReasonOf(cause: StopCause | undefined): number {
  if (cause === 'user') return StopReason.userStop
  if (cause === 'forced') return StopReason.forcedUserStop
  return StopReason.platformStop
}

function exitCodeOfEvent(event: InstanceEvent): number {
  return event.type === 'exited' ? exitCodeOf(event.exit) : 1 // a boot that failed counts as exit code 1
}

function recorded(recording: Recording, event: InstanceEvent, situation: Situation): {stop_reason?: number; exit_code?: number} {
  const exit = event.type === 'exited' ? event.exit : undefined
  switch (recording) {
    case 'exit':
      return {stop_reason: exit?.signal ? StopReason.crash : StopReason.appExit, exit_code: exitCodeOfEvent(event)}
    case 'bootFailure':
      return {stop_reason: StopReason.appExit, exit_code: 1}
    case 'cause':
      return {stop_reason: stopReasonOf(causeOf(event, situation.stopCause)), ...(exit ? {exit_code: exitCodeOf(exit)} : {})}
    case 'standby':
      return {stop_reason: StopReason.standby}
  }
}
