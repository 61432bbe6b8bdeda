// The instance transition table, walked completely: for every state × every event, what a user
// must see (the state, stop_reason and exit_code, whether it restarts or is stopped for good), written
// here by hand, checked against `decide`; every row of the table is reached by some case; and
// docs/platform-runtime.md shows the table as it is.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import {describe, it} from 'node:test'

import {
  EVENT_TYPES,
  STATES,
  TRANSITIONS,
  decide,
  rowFor,
  type EventType,
  type InstanceEvent,
  type Row,
  type Situation,
  type SupervisedState,
} from '../../src/platform/runtime/instance-transitions.js'
import {StopReason} from '../../src/platform/runtime/index.js'

type Expected =
  | 'ignore'
  | 'refuse'
  | {to: SupervisedState; stop_reason?: number; exit_code?: number; settles?: boolean; restarts?: boolean}

interface Case {
  given?: Partial<Situation>
  event?: Partial<InstanceEvent>
  expect: Expected
}

const BASE: Situation = {
  hasProcess: false,
  frozen: false,
  stateful: false,
  restartPolicy: 'never',
  desired: 'running',
  restartPending: false,
  stopCause: undefined,
}

const DEFAULT_EVENTS: {[K in EventType]: Extract<InstanceEvent, {type: K}>} = {
  start: {type: 'start'},
  spawned: {type: 'spawned'},
  booted: {type: 'booted'},
  bootFailed: {type: 'bootFailed'},
  exited: {type: 'exited', exit: {code: 1, signal: null}},
  stop: {type: 'stop', cause: 'user', drainMs: 0},
  drained: {type: 'drained'},
  idle: {type: 'idle'},
  wake: {type: 'wake'},
  healthy: {type: 'healthy'},
  restartDue: {type: 'restartDue'},
  remove: {type: 'remove'},
}

const code = (n: number) => ({exit: {code: n, signal: null}})
const KILLED = {exit: {code: null, signal: 'SIGKILL' as const}}
const user = {cause: 'user' as const, drainMs: 0}
const draining = {cause: 'user' as const, drainMs: 5000}
const forced = {cause: 'forced' as const, drainMs: 0}
const platform = {cause: 'platform' as const, drainMs: 0}
const ignore: Case[] = [{expect: 'ignore'}]
const refuse: Case[] = [{expect: 'refuse'}]
const {appExit, crash, userStop, forcedUserStop, platformStop, standby} = StopReason

const EXPECTED: Record<SupervisedState, Record<EventType, Case[]>> = {
  stopped: {
    start: [{expect: {to: 'starting'}}, {given: {restartPending: true}, expect: {to: 'starting'}}],
    spawned: ignore,
    booted: ignore,
    bootFailed: ignore,
    exited: ignore,
    stop: [
      {expect: 'ignore'},
      {given: {restartPending: true}, event: user, expect: {to: 'stopped', settles: true}},
      {given: {restartPending: true}, event: forced, expect: {to: 'stopped', settles: true}},
      {given: {restartPending: true}, event: platform, expect: {to: 'stopped'}},
    ],
    drained: ignore,
    idle: ignore,
    wake: refuse,
    healthy: ignore,
    restartDue: [{given: {restartPending: true}, expect: {to: 'starting'}}],
    remove: [{expect: {to: 'stopped'}}, {given: {restartPending: true}, expect: {to: 'stopped'}}],
  },
  starting: {
    start: ignore,
    spawned: [{given: {hasProcess: true}, expect: {to: 'starting'}}],
    booted: [{given: {hasProcess: true}, expect: {to: 'running'}}],
    bootFailed: [
      {expect: {to: 'stopped', stop_reason: appExit, exit_code: 1, settles: true}},
      {given: {restartPolicy: 'on-failure'}, expect: {to: 'stopped', stop_reason: appExit, exit_code: 1, restarts: true}},
    ],
    exited: [
      // Bug (a): a process that exits with 1 right after spawn under `never` is stopped for good.
      {given: {hasProcess: true}, event: code(1), expect: {to: 'stopped', stop_reason: appExit, exit_code: 1, settles: true}},
      {given: {hasProcess: true, restartPolicy: 'on-failure'}, event: code(1), expect: {to: 'stopped', stop_reason: appExit, exit_code: 1, restarts: true}},
      {given: {hasProcess: true, restartPolicy: 'on-failure'}, event: code(0), expect: {to: 'stopped', stop_reason: appExit, exit_code: 0, settles: true}},
      {given: {hasProcess: true, restartPolicy: 'always'}, event: KILLED, expect: {to: 'stopped', stop_reason: crash, exit_code: 137, restarts: true}},
    ],
    stop: [
      {given: {hasProcess: true}, event: user, expect: {to: 'stopping'}},
      {event: forced, expect: {to: 'stopping'}},
      {event: platform, expect: {to: 'stopping'}},
    ],
    drained: ignore,
    idle: ignore,
    wake: ignore,
    healthy: ignore,
    restartDue: ignore,
    remove: [{expect: {to: 'stopping'}}, {given: {hasProcess: true}, expect: {to: 'stopping'}}],
  },
  running: {
    start: ignore,
    spawned: ignore,
    booted: ignore,
    bootFailed: ignore,
    exited: [
      {given: {hasProcess: true}, event: code(1), expect: {to: 'stopped', stop_reason: appExit, exit_code: 1, settles: true}},
      // Bug (b): a crash under on-failure restarts the instance; it is not stopped for good (no delete-on-stop).
      {given: {hasProcess: true, restartPolicy: 'on-failure'}, event: KILLED, expect: {to: 'stopped', stop_reason: crash, exit_code: 137, restarts: true}},
      {given: {hasProcess: true, restartPolicy: 'always'}, event: code(0), expect: {to: 'stopped', stop_reason: appExit, exit_code: 0, restarts: true}},
      {given: {hasProcess: true, restartPolicy: 'always', desired: 'stopped'}, event: code(0), expect: {to: 'stopped', stop_reason: appExit, exit_code: 0, settles: true}},
    ],
    stop: [
      {given: {hasProcess: true}, event: user, expect: {to: 'stopping'}},
      {given: {hasProcess: true}, event: draining, expect: {to: 'draining'}},
      {given: {hasProcess: true}, event: {...forced, drainMs: 5000}, expect: {to: 'stopping'}},
      {given: {hasProcess: true}, event: platform, expect: {to: 'stopping'}},
    ],
    drained: ignore,
    idle: [
      {given: {hasProcess: true, stateful: true}, expect: {to: 'standby', stop_reason: standby}},
      {given: {hasProcess: true}, expect: {to: 'standby', stop_reason: standby}},
    ],
    wake: ignore,
    healthy: [{given: {hasProcess: true}, expect: {to: 'running'}}],
    restartDue: ignore,
    remove: [{given: {hasProcess: true}, expect: {to: 'stopping'}}],
  },
  draining: {
    start: refuse,
    spawned: ignore,
    booted: ignore,
    bootFailed: ignore,
    exited: [
      {given: {hasProcess: true, stopCause: 'user'}, event: code(0), expect: {to: 'stopped', stop_reason: userStop, exit_code: 0, settles: true}},
      {given: {hasProcess: true, stopCause: 'platform'}, event: code(0), expect: {to: 'stopped', stop_reason: platformStop, exit_code: 0}},
    ],
    stop: [
      {given: {hasProcess: true, stopCause: 'user'}, event: user, expect: 'ignore'},
      {given: {hasProcess: true, stopCause: 'user'}, event: forced, expect: {to: 'stopping'}},
      {given: {hasProcess: true, stopCause: 'user'}, event: platform, expect: {to: 'stopping'}},
    ],
    drained: [{given: {hasProcess: true, stopCause: 'user'}, expect: {to: 'stopping'}}],
    idle: ignore,
    wake: refuse,
    healthy: ignore,
    restartDue: ignore,
    remove: [{given: {hasProcess: true, stopCause: 'user'}, expect: {to: 'stopping'}}],
  },
  stopping: {
    start: refuse,
    spawned: [{given: {hasProcess: true, stopCause: 'user'}, expect: {to: 'stopping'}}],
    booted: ignore,
    bootFailed: [
      {given: {stopCause: 'user'}, expect: {to: 'stopped', stop_reason: userStop, settles: true}},
      {given: {stopCause: 'platform'}, expect: {to: 'stopped', stop_reason: platformStop}},
    ],
    exited: [
      {given: {hasProcess: true, stopCause: 'user'}, event: code(0), expect: {to: 'stopped', stop_reason: userStop, exit_code: 0, settles: true}},
      {given: {hasProcess: true, stopCause: 'forced'}, event: KILLED, expect: {to: 'stopped', stop_reason: forcedUserStop, exit_code: 137, settles: true}},
      {given: {hasProcess: true, stopCause: 'platform'}, event: code(0), expect: {to: 'stopped', stop_reason: platformStop, exit_code: 0}},
      {given: {hasProcess: true, stopCause: 'removed'}, event: KILLED, expect: {to: 'stopped', stop_reason: platformStop, exit_code: 137}},
      // Under `always` too: a stop is never followed by a restart.
      {given: {hasProcess: true, stopCause: 'user', restartPolicy: 'always'}, event: code(1), expect: {to: 'stopped', stop_reason: userStop, exit_code: 1, settles: true}},
    ],
    stop: [
      {given: {hasProcess: true, stopCause: 'user'}, event: forced, expect: {to: 'stopping'}},
      {given: {hasProcess: true, stopCause: 'user'}, event: user, expect: 'ignore'},
      {given: {hasProcess: true, stopCause: 'platform'}, event: platform, expect: 'ignore'},
    ],
    drained: ignore,
    idle: ignore,
    wake: refuse,
    healthy: ignore,
    restartDue: ignore,
    remove: [{given: {hasProcess: true, stopCause: 'user'}, expect: {to: 'stopping'}}],
  },
  standby: {
    start: [{given: {hasProcess: true, frozen: true}, expect: {to: 'running'}}, {expect: {to: 'starting'}}],
    spawned: ignore,
    booted: ignore,
    bootFailed: ignore,
    exited: [
      {given: {hasProcess: true, frozen: true, restartPolicy: 'on-failure'}, event: KILLED, expect: {to: 'stopped', stop_reason: crash, exit_code: 137, restarts: true}},
      {given: {hasProcess: true, frozen: true}, event: code(0), expect: {to: 'stopped', stop_reason: appExit, exit_code: 0, settles: true}},
    ],
    stop: [
      {given: {hasProcess: true, frozen: true}, event: user, expect: {to: 'stopping'}},
      {event: user, expect: {to: 'stopped', stop_reason: userStop, settles: true}},
      {event: forced, expect: {to: 'stopped', stop_reason: forcedUserStop, settles: true}},
      {event: platform, expect: {to: 'stopped', stop_reason: platformStop}},
    ],
    drained: ignore,
    idle: ignore,
    wake: [{given: {hasProcess: true, frozen: true}, expect: {to: 'running'}}, {expect: {to: 'starting'}}],
    healthy: ignore,
    restartDue: ignore,
    remove: [{given: {hasProcess: true, frozen: true}, expect: {to: 'stopping'}}, {expect: {to: 'stopped', stop_reason: platformStop}}],
  },
}

function eventOf(type: EventType, overrides: Partial<InstanceEvent> = {}): InstanceEvent {
  return {...DEFAULT_EVENTS[type], ...overrides} as InstanceEvent
}

describe('instance transition table', () => {
  it('has a cell for every state × event, each ending in an unguarded row', () => {
    for (const state of STATES) {
      for (const type of EVENT_TYPES) {
        const cell = TRANSITIONS[state][type]
        assert.ok(cell.length > 0, `${state} × ${type}`)
        assert.equal(cell.at(-1)?.when, undefined, `${state} × ${type}: the last row applies when no other does`)
        assert.ok(EXPECTED[state][type].length > 0, `${state} × ${type} is specified by this test`)
      }
    }
  })

  it('lands every specified case in the right state with the right stop_reason and exit_code', () => {
    for (const state of STATES) {
      for (const type of EVENT_TYPES) {
        for (const [index, spec] of EXPECTED[state][type].entries()) {
          const situation = {...BASE, ...spec.given}
          const decision = decide(state, eventOf(type, spec.event), situation)
          const where = `${state} × ${type} #${index}`
          if (spec.expect === 'ignore' || spec.expect === 'refuse') {
            assert.equal(decision.kind, spec.expect, where)
            continue
          }
          assert.equal(decision.kind, 'move', where)
          if (decision.kind !== 'move') continue
          const {to, stop_reason: stopReason, exit_code: exitCode, settles = false, restarts = false} = spec.expect
          assert.equal(decision.to, to, `${where}: state`)
          assert.equal(decision.patch.stop_reason, stopReason, `${where}: stop_reason`)
          assert.equal(decision.patch.exit_code, exitCode, `${where}: exit_code`)
          assert.equal(decision.effects.includes('settle'), settles, `${where}: stopped for good (delete-on-stop)`)
          assert.equal(decision.effects.includes('scheduleRestart'), restarts, `${where}: restart scheduled`)
        }
      }
    }
  })

  it('reaches every row of the table with the cases above', () => {
    const reached = new Set<Row>()
    for (const state of STATES) {
      for (const type of EVENT_TYPES) {
        for (const spec of EXPECTED[state][type]) reached.add(rowFor(state, eventOf(type, spec.event), {...BASE, ...spec.given}))
      }
    }
    for (const state of STATES) {
      for (const type of EVENT_TYPES) {
        for (const [index, row] of TRANSITIONS[state][type].entries()) assert.ok(reached.has(row), `${state} × ${type} row ${index} is tested`)
      }
    }
  })

  it('leaves a stop to a stop: a stopping instance that exits never restarts, whatever the policy', () => {
    for (const restartPolicy of ['never', 'on-failure', 'always'] as const) {
      for (const stopCause of ['user', 'forced', 'platform', 'removed'] as const) {
        for (const exit of [code(0), code(1), KILLED]) {
          const decision = decide('stopping', eventOf('exited', exit), {...BASE, hasProcess: true, restartPolicy, stopCause})
          assert.equal(decision.kind === 'move' && decision.effects.includes('scheduleRestart'), false)
        }
      }
    }
  })
})

/** The table as docs/platform-runtime.md shows it: every row that moves or is guarded, then the rest. */
function renderTable(): string {
  const moves = ['| state | event | when | → | records | effects, in order |', '|---|---|---|---|---|---|']
  const rest = ['| state | refused (the caller is told) | ignored |', '|---|---|---|']
  for (const state of STATES) {
    const refused: string[] = []
    const ignored: string[] = []
    for (const type of EVENT_TYPES) {
      const cell = TRANSITIONS[state][type]
      if (cell.length === 1 && !('to' in cell[0])) {
        ;('refuse' in cell[0] ? refused : ignored).push(type)
        continue
      }
      for (const row of cell) {
        const when = (row.when ?? []).join(', ') || '—'
        if ('to' in row) moves.push(`| ${state} | ${type} | ${when} | ${row.to} | ${row.record ?? '—'} | ${row.effects.join(', ') || '—'} |`)
        else moves.push(`| ${state} | ${type} | ${when} | ${'ignore' in row ? `ignored: ${row.ignore}` : `refused: ${row.refuse}`} | — | — |`)
      }
    }
    rest.push(`| ${state} | ${refused.join(', ') || '—'} | ${ignored.join(', ') || '—'} |`)
  }
  return [...moves, '', ...rest].join('\n')
}

describe('docs/platform-runtime.md', () => {
  it('shows the transition table as the code has it', () => {
    const doc = fs.readFileSync('docs/platform-runtime.md', 'utf8')
    const shown = /<!-- transitions:begin -->\n([\s\S]*?)\n<!-- transitions:end -->/.exec(doc)?.[1]
    const table = renderTable()
    assert.equal(shown, table, `replace the table between the transitions markers with:\n${table}`)
  })
})
