// Whether the process that wrote a pid file is still the one running under that pid. A pid alone is
// not enough: a daemon killed inside a container whose init never reaps children stays a zombie with
// that pid, and a pid is reused once its process is gone. So a pid file also records the process's
// start time (field 22 of /proc/<pid>/stat, clock ticks since boot), and a zombie counts as gone.
import fs from 'node:fs'

export interface ProcessIdentity {
  pid: number
  /** Start time in clock ticks since boot (Linux); undefined where /proc is not available. */
  start?: string
}

function stat(pid: number): string[] | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
    return text.slice(text.lastIndexOf(')') + 2).split(' ')
  } catch {
    return undefined
  }
}

const hasProc = fs.existsSync('/proc/self/stat')

/** This process's identity, for a pid file. */
export function selfIdentity(): ProcessIdentity {
  return {pid: process.pid, start: stat(process.pid)?.[19]}
}

/** True when `who` still runs: the pid exists, is not a zombie, and started when it was recorded. */
export function isRunning(who: ProcessIdentity): boolean {
  if (!Number.isInteger(who.pid) || who.pid <= 0) return false
  if (!hasProc) {
    try {
      process.kill(who.pid, 0)
      return true
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EPERM'
    }
  }
  const fields = stat(who.pid)
  if (!fields) return false
  if (fields[0] === 'Z' || fields[0] === 'X') return false // state (field 3): zombie or dead
  return who.start === undefined || fields[19] === who.start
}
