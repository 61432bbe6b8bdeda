// After the daemon itself was killed (kill -9), its instance processes live on in their own process
// groups and still hold their ports. Before booting an instance again, kill the old group — but only
// when the recorded pid still belongs to this instance (its environment or working directory names
// the instance UUID), so a reused pid is never hit.
import fs from 'node:fs'
import {setTimeout as delay} from 'node:timers/promises'

import {signalGroup} from './instance-process.js'

function belongsTo(pid: number, uuid: string): boolean {
  try {
    if (fs.readFileSync(`/proc/${pid}/environ`).includes(`UKC_INSTANCE_UUID=${uuid}\0`)) return true
  } catch {
    return false
  }
  // Postgres overwrites its environment with its process title; its working directory (the
  // instance's data dir or below) still names the instance.
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

export async function killStaleProcess(pid: number | undefined, uuid: string): Promise<void> {
  if (!pid || !belongsTo(pid, uuid)) return
  signalGroup(pid, 'SIGKILL')
  const deadline = Date.now() + 2_000
  while (!gone(pid) && Date.now() < deadline) await delay(5)
}
