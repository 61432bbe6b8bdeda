// `npm run bench:startup`: how long `ukc` takes as a whole process, against `node -e 0` in the same run.
//   ukc --version                       goal ≤ 2.5 × node -e 0
//   ukc instance list (local platform)  goal ≤ 3 × node -e 0 (one running instance, default metro)
//   ukc --help                          no goal: shown beside them
// Medians of wall time (the goals' measure) over whole-process runs, the commands alternating round by
// round after a warm-up round; CPU time (user + sys, from the kernel's count of waited-for children,
// Linux only) beside it, since on a busy machine it moves less than wall time. Bounded: MAX_ROUNDS
// rounds, and no new round after TIME_BUDGET_MS once MIN_ROUNDS are done. Runs the built binary
// (bin/run.js), rebuilding first when dist is older than src.
import {execFileSync, spawn} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

import {Cli, ROOT, buildIfStale} from '../test/e2e/platform-harness.js'

const MIN_ROUNDS = 15
const MAX_ROUNDS = 25
const TIME_BUDGET_MS = 120_000
const BIN = path.join(ROOT, 'bin', 'run.js')

interface Subject {
  label: string
  args: string[]
  goal?: number
  /** What the output must hold: a run that failed would measure nothing. */
  expect: RegExp
}

const SUBJECTS: Subject[] = [
  {label: 'node -e 0', args: ['-e', '0'], expect: /^$/},
  {label: 'ukc --version', args: [BIN, '--version'], goal: 2.5, expect: /^ukc\/\S+ \S+-\S+ node-v/},
  {label: 'ukc --help', args: [BIN, '--help'], expect: /USAGE/},
  {label: 'ukc instance list', args: [BIN, 'instance', 'list'], goal: 3, expect: /startup-bench/},
]

/** CPU time of the waited-for children of this process so far, in ms (Linux), else undefined. */
const ticksPerSecond = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], {encoding: 'utf8'}).trim()) || 100
  } catch {
    return 100
  }
})()
function childrenCpuMs(): number | undefined {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // Fields 16 and 17 of proc(5), cutime and cstime; this slice starts at field 3.
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / ticksPerSecond
  } catch {
    return undefined
  }
}

interface Sample {
  wallMs: number
  cpuMs?: number
}

function runOnce(subject: Subject, env: NodeJS.ProcessEnv): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const cpuBefore = childrenCpuMs()
    const started = performance.now()
    const child = spawn(process.execPath, subject.args, {env, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('error', reject)
    child.on('close', (code) => {
      const wallMs = performance.now() - started
      const cpuAfter = childrenCpuMs()
      if (code !== 0 || !subject.expect.test(stdout)) {
        reject(new Error(`${subject.label} exited ${code}; stdout: ${stdout.slice(0, 300)} stderr: ${stderr.slice(0, 300)}`))
        return
      }
      resolve({wallMs, cpuMs: cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore})
    })
  })
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}

await buildIfStale()
const cli = new Cli()
try {
  await cli.start()
  await cli.json(['instance', 'create', '--name', 'startup-bench', 'hello'])
  // As a user with nothing configured: metro `local`, its first user's token.
  const env = cli.env()
  const samples = new Map<Subject, Sample[]>(SUBJECTS.map((s) => [s, []]))
  for (const subject of SUBJECTS) await runOnce(subject, env) // warm-up: file cache, the daemon's first request
  const started = performance.now()
  let rounds = 0
  while (rounds < MAX_ROUNDS && (rounds < MIN_ROUNDS || performance.now() - started < TIME_BUDGET_MS)) {
    for (const subject of SUBJECTS) samples.get(subject)?.push(await runOnce(subject, env))
    rounds++
  }

  const node = samples.get(SUBJECTS[0] as Subject) as Sample[]
  const nodeWall = median(node.map((s) => s.wallMs))
  const cpuOf = (list: Sample[]): number | undefined => (list.every((s) => s.cpuMs !== undefined) ? median(list.map((s) => s.cpuMs as number)) : undefined)
  const nodeCpu = cpuOf(node)
  console.log(`ukc start-up: medians of ${rounds} rounds of whole-process runs (alternating, after a warm-up), ${process.version}, ${ROOT}`)
  console.log(`${'command'.padEnd(20)}${'wall'.padStart(10)}${'× node'.padStart(9)}${'goal'.padStart(8)}   ${'CPU'.padStart(9)}${'× node'.padStart(9)}`)
  for (const subject of SUBJECTS) {
    const list = samples.get(subject) as Sample[]
    const wall = median(list.map((s) => s.wallMs))
    const cpu = cpuOf(list)
    const ratio = wall / nodeWall
    const goal = subject.goal === undefined ? '' : `≤ ${subject.goal}`
    const verdict = subject.goal === undefined ? '' : ratio <= subject.goal ? 'met' : 'NOT MET'
    const cpuText = cpu === undefined ? 'n/a' : `${cpu.toFixed(0)} ms`
    const cpuRatio = cpu === undefined || !nodeCpu ? '' : (cpu / nodeCpu).toFixed(2)
    console.log(`${subject.label.padEnd(20)}${`${wall.toFixed(0)} ms`.padStart(10)}${ratio.toFixed(2).padStart(9)}${goal.padStart(8)}   ${cpuText.padStart(9)}${cpuRatio.padStart(9)}   ${verdict}`)
  }
} finally {
  await cli.cleanup()
}
