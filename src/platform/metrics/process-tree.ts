// CPU time and resident memory of an instance's processes, read from procfs: the main process and
// every descendant (children that left the process group, like Postgres' backends, included). Only
// that tree is read — /proc/<pid>/task/*/children for the links, /proc/<pid>/stat for CPU time,
// /proc/<pid>/status for VmRSS — never a scan of every process on the machine. Linux only; elsewhere
// (no /proc) an instance reads as zero.
import fs from 'node:fs'

/**
 * Clock ticks per second of /proc/<pid>/stat's times: USER_HZ, which Linux fixes at 100 for user
 * space on every architecture it supports (sysconf(_SC_CLK_TCK), which node does not expose).
 */
const TICKS_PER_SECOND = 100

export interface TreeUsage {
  /** CPU time (user + system) of the live processes and of the children they have reaped, in ms. */
  cpuMs: number
  /** Sum of the processes' resident set sizes (pages shared between them count once per process). */
  rssBytes: number
  /** Processes found (0: the main process is gone). */
  processes: number
}

const NONE: TreeUsage = {cpuMs: 0, rssBytes: 0, processes: 0}

function read(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8')
  } catch {
    return undefined // the process went away meanwhile
  }
}

/** utime + stime + cutime + cstime in ticks (fields 14–17; the command name may hold spaces). */
function cpuTicks(pid: number): number | undefined {
  const stat = read(`/proc/${pid}/stat`)
  if (stat === undefined) return undefined
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // fields[0] is field 3 (state): utime is field 14 → index 11.
  return Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])
}

function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(read(`/proc/${pid}/status`) ?? '')
  return match ? Number(match[1]) * 1024 : 0
}

function childrenOf(pid: number): number[] {
  let tasks: string[]
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`)
  } catch {
    return []
  }
  const children: number[] = []
  for (const task of tasks) {
    for (const child of (read(`/proc/${pid}/task/${task}/children`) ?? '').split(' ')) if (child) children.push(Number(child))
  }
  return children
}

/** The usage of `pid` and its descendants, now. */
export function treeUsage(pid: number | undefined): TreeUsage {
  if (pid === undefined) return NONE
  let ticks = 0
  let rss = 0
  let processes = 0
  const seen = new Set<number>()
  const queue = [pid]
  while (queue.length > 0) {
    const next = queue.shift() as number
    if (seen.has(next)) continue
    seen.add(next)
    const cpu = cpuTicks(next)
    if (cpu === undefined) continue
    ticks += cpu
    rss += rssBytes(next)
    processes += 1
    queue.push(...childrenOf(next))
  }
  return {cpuMs: Math.round((ticks * 1000) / TICKS_PER_SECOND), rssBytes: rss, processes}
}
