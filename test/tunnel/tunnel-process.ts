// `ukc tunnel --json` as a child process of an end-to-end test: started against a test platform,
// resolved once its ready line appears, killed by `killAll`.
import {type ChildProcess, spawn} from 'node:child_process'
import path from 'node:path'

import {type Cli, ROOT, until} from '../e2e/platform-harness.js'

export interface Ready {
  status: 'ready'
  relay: {uuid: string; fqdn: string}
  mappings: Array<{local: string; target: string}>
}

export interface TunnelProcess {
  child: ChildProcess
  ready: Ready
  stderr: () => string
  exited: Promise<number | null>
}

export class TunnelProcesses {
  private readonly running = new Set<ChildProcess>()

  constructor(
    private readonly cli: Cli,
    private readonly extraArgs: string[] = [],
  ) {}

  async open(args: string[], options: {stdin?: 'ignore' | 'pipe'; timeoutMs?: number} = {}): Promise<TunnelProcess> {
    const argv = [path.join(ROOT, 'bin', 'run.js'), 'tunnel', '--json', ...this.extraArgs, ...args]
    const child = spawn(process.execPath, argv, {env: this.cli.env(), stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe']})
    this.running.add(child)
    let out = ''
    let err = ''
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()))
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    exited.then(() => this.running.delete(child), () => undefined)
    const ready = await until(`the tunnel to be ready (${args.join(' ')})`, () => {
      if (child.exitCode !== null) throw new Error(`ukc tunnel exited ${child.exitCode}: ${err}`)
      const line = out.split('\n').find((l) => l.startsWith('{'))
      return line ? (JSON.parse(line) as Ready) : undefined
    }, options.timeoutMs ?? 90_000)
    return {child, ready, stderr: () => err, exited}
  }

  killAll(): void {
    for (const child of this.running) child.kill('SIGKILL')
  }
}
