// One daemon per data dir: `<dataDir>/daemon.lock`, created exclusively, holds the owner's pid and
// start time. A lock whose owner no longer runs — gone, a zombie nobody reaped, or a different
// process that got the same pid — is taken over (see local/liveness.ts).
import fs from 'node:fs'
import path from 'node:path'

import {type ProcessIdentity, isRunning, selfIdentity} from '../local/liveness.js'

export const LOCK_FILE = 'daemon.lock'

export class AlreadyRunning extends Error {
  constructor(
    readonly pid: number,
    dataDir: string,
  ) {
    super(`a local platform is already running in ${dataDir} (pid ${pid})`)
  }
}

/** `pid start` (start omitted where /proc is missing); an older lock holds the pid alone. */
function parseLock(text: string): ProcessIdentity {
  const [pid, start] = text.trim().split(/\s+/)
  return {pid: Number.parseInt(pid ?? '', 10), start: start || undefined}
}

export function acquireLock(dataDir: string): () => void {
  const file = path.join(dataDir, LOCK_FILE)
  const self = selfIdentity()
  const content = `${self.pid}${self.start ? ` ${self.start}` : ''}\n`
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      fs.writeFileSync(file, content, {flag: 'wx', mode: 0o600})
      return () => {
        try {
          if (fs.readFileSync(file, 'utf8') === content) fs.rmSync(file, {force: true})
        } catch {
          // already gone
        }
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    let owner: ProcessIdentity
    try {
      owner = parseLock(fs.readFileSync(file, 'utf8'))
    } catch {
      continue // removed meanwhile: try again
    }
    if (owner.pid !== process.pid && isRunning(owner)) throw new AlreadyRunning(owner.pid, dataDir)
    fs.rmSync(file, {force: true})
  }
  throw new Error(`could not take the platform lock ${file}`)
}
