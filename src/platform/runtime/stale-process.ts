// After the daemon itself was killed (kill -9), processes of its instances may live on: whatever the
// main process forked (nginx workers, Postgres helpers), or the main process itself where the
// parent-death signal is not available. They still hold ports. Before booting an instance again,
// every process that still belongs to it is killed — recognised by its environment
// (UKC_INSTANCE_UUID) or, for programs that overwrite their environment with a process title
// (Postgres), its working directory inside the instance's dir — so an unrelated process is never hit.
import fs from 'node:fs'
import {setTimeout as delay} from 'node:timers/promises'

import {signalGroup} from './instance-process.js'

function belongsTo(pid: number, uuid: string): boolean {
  try {
    if (fs.readFileSync(`/proc/${pid}/environ`).includes(`UKC_INSTANCE_UUID=${uuid}\0`)) return true
  } catch {
    return false
  }
  try {
    return fs.readlinkSync(`/proc/${pid}/cwd`).includes(`/instances/${uuid}/`)
  } catch {
    return false
  }
}

function gone(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z') // a zombie holds no ports
  } catch {
    return true
  }
}

/** Live processes of instance `uuid`. */
export function instanceProcesses(uuid: string): number[] {
  let entries: string[]
  try {
    entries = fs.readdirSync('/proc')
  } catch {
    return []
  }
  return entries
    .map(Number)
    .filter((pid) => Number.isInteger(pid) && pid !== process.pid && !gone(pid) && belongsTo(pid, uuid))
}

/**
 * Kills what is left of instance `uuid` from a previous platform. `pid` is the recorded pid: without
 * one the instance was stopped cleanly and nothing is searched (boots stay fast).
 */
export async function killStaleProcess(pid: number | undefined, uuid: string): Promise<void> {
  if (!pid) return
  const stale = instanceProcesses(uuid)
  for (const member of stale) {
    signalGroup(member, 'SIGKILL')
    try {
      process.kill(member, 'SIGKILL')
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + 2_000
  while (stale.some((member) => !gone(member)) && Date.now() < deadline) await delay(5)
}
