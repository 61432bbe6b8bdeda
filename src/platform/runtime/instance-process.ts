// One instance's process: spawned in its own process group (detached), so signals reach every
// process the image forks (Postgres backends, nginx workers); console output goes to a callback.
import {spawn, type ChildProcess} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'

import {findBinary} from './host-binaries.js'
import type {RunAs} from './identity.js'

const setpriv = findBinary('setpriv')

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface SpawnOptions {
  command: string
  args: string[]
  env: Record<string, string>
  cwd: string
  runAs?: RunAs
  output: (chunk: Buffer) => void
}

export class InstanceProcess {
  readonly pid: number
  /** Resolves when the main process has exited (stragglers in the group are then killed). */
  readonly exited: Promise<Exit>
  private readonly child: ChildProcess
  private alive = true

  private constructor(child: ChildProcess, exited: Promise<Exit>) {
    this.child = child
    this.pid = child.pid as number
    this.exited = exited
  }

  /** Spawns; rejects when the command cannot be started at all (ENOENT, EACCES). */
  static spawn(options: SpawnOptions): Promise<InstanceProcess> {
    const problem = unrunnable(options.command)
    if (problem) return Promise.reject(new Error(`cannot run ${options.command}: ${problem}`))
    return new Promise((resolve, reject) => {
      // The instance dies with the platform (SIGKILL when the daemon's thread ends, even by kill -9),
      // through setpriv's parent-death signal where util-linux is installed; the survivors of a
      // crash are otherwise found and killed when the instance boots again (stale-process.ts). No new
      // privileges: a setuid binary cannot lift an instance out of its uid.
      const [command, args] = setpriv ? [setpriv, ['--pdeathsig', 'KILL', '--no-new-privs', '--', options.command, ...options.args]] : [options.command, options.args]
      const child = spawn(command, args, {
        cwd: options.cwd,
        env: options.env,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        uid: options.runAs?.uid,
        gid: options.runAs?.gid,
      })
      child.stdout?.on('data', options.output)
      child.stderr?.on('data', options.output)
      const failed = (error: NodeJS.ErrnoException): void =>
        reject(new Error(`cannot run ${options.command}: ${error.code === 'ENOENT' ? 'no such file' : error.code === 'EACCES' ? 'permission denied' : error.message}`))
      child.once('error', failed)
      child.once('spawn', () => {
        child.off('error', failed)
        const exited = new Promise<Exit>((done) => {
          child.once('exit', (code, signal) => {
            instance.alive = false
            if (instance.killTimer) clearTimeout(instance.killTimer)
            // The image's own children (same group) must not outlive it.
            signalGroup(instance.pid, 'SIGKILL')
            done({code, signal})
          })
        })
        const instance = new InstanceProcess(child, exited)
        resolve(instance)
      })
    })
  }

  get running(): boolean {
    return this.alive
  }

  /** Sends `signal` to the whole process group. */
  signal(signal: NodeJS.Signals): void {
    if (this.alive) signalGroup(this.pid, signal)
  }

  /** Sends `signal` now and SIGKILL after `graceMs` unless the process has exited by then. */
  terminate(signal: NodeJS.Signals, graceMs: number): void {
    this.signal(signal)
    if (signal !== 'SIGKILL' && this.alive && !this.killTimer) this.killTimer = setTimeout(() => this.signal('SIGKILL'), graceMs)
  }

  /**
   * Stops every process of the instance: the group, and descendants that left it (Postgres puts
   * each child in its own session). Remembered, so `thaw` is one cheap loop of SIGCONTs.
   */
  freeze(): void {
    if (!this.alive) return
    signalGroup(this.pid, 'SIGSTOP')
    this.frozen = descendantsOf(this.pid)
    for (const pid of this.frozen) signalProcess(pid, 'SIGSTOP')
  }

  thaw(): void {
    signalGroup(this.pid, 'SIGCONT')
    for (const pid of this.frozen) signalProcess(pid, 'SIGCONT')
    this.frozen = []
  }

  private frozen: number[] = []
  private killTimer: NodeJS.Timeout | undefined
}

function signalProcess(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal)
  } catch {
    // ESRCH: already gone.
  }
}

/** Every descendant of `root`, from /proc's parent links. */
export function descendantsOf(root: number): number[] {
  const children = new Map<number, number[]>()
  let entries: string[]
  try {
    entries = fs.readdirSync('/proc')
  } catch {
    return []
  }
  for (const entry of entries) {
    const pid = Number(entry)
    if (!Number.isInteger(pid)) continue
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      const list = children.get(parent) ?? []
      list.push(pid)
      children.set(parent, list)
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = []
  const queue = [root]
  while (queue.length > 0) {
    for (const child of children.get(queue.shift() as number) ?? []) {
      found.push(child)
      queue.push(child)
    }
  }
  return found
}

export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal)
  } catch {
    // ESRCH: already gone.
  }
}

/** Exit code as the API reports it: the code, or 128 + signal number like a shell. */
export function exitCodeOf(exit: Exit): number {
  if (exit.code !== null) return exit.code
  const number = exit.signal ? os.constants.signals[exit.signal] : undefined
  return 128 + (number ?? 0)
}

/** Why `command` cannot be executed (checked up front: behind setpriv the spawn itself succeeds). */
function unrunnable(command: string): string | undefined {
  if (!command.includes('/')) return findBinary(command) ? undefined : 'no such file'
  try {
    fs.accessSync(command, fs.constants.X_OK)
    return undefined
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : 'permission denied'
  }
}
