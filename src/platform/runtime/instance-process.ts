// One instance's process: spawned in its own process group (detached), so signals reach every
// process the image forks (Postgres backends, nginx workers); console output goes to a callback.
import {spawn, type ChildProcess} from 'node:child_process'
import os from 'node:os'

import type {RunAs} from './run-as.js'

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
    return new Promise((resolve, reject) => {
      const child = spawn(options.command, options.args, {
        cwd: options.cwd,
        env: options.env,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        uid: options.runAs?.uid,
        gid: options.runAs?.gid,
      })
      child.stdout?.on('data', options.output)
      child.stderr?.on('data', options.output)
      child.once('error', reject)
      child.once('spawn', () => {
        child.off('error', reject)
        const exited = new Promise<Exit>((done) => {
          child.once('exit', (code, signal) => {
            instance.alive = false
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
