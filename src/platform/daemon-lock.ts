// One daemon per data dir: `<dataDir>/daemon.lock` holds the owner's pid, created exclusively; a lock
// whose pid is gone is taken over.
import fs from 'node:fs'
import path from 'node:path'

import {isAlive} from './info.js'

export const LOCK_FILE = 'daemon.lock'

export class AlreadyRunning extends Error {
  constructor(
    readonly pid: number,
    dataDir: string,
  ) {
    super(`a local platform is already running in ${dataDir} (pid ${pid})`)
  }
}

export function acquireLock(dataDir: string): () => void {
  const file = path.join(dataDir, LOCK_FILE)
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), {flag: 'wx', mode: 0o600})
      return () => {
        try {
          if (fs.readFileSync(file, 'utf8').trim() === String(process.pid)) fs.rmSync(file, {force: true})
        } catch {
          // already gone
        }
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    let owner = 0
    try {
      owner = Number.parseInt(fs.readFileSync(file, 'utf8'), 10)
    } catch {
      continue // removed meanwhile: try again
    }
    if (owner && owner !== process.pid && isAlive(owner)) throw new AlreadyRunning(owner, dataDir)
    fs.rmSync(file, {force: true})
  }
  throw new Error(`could not take the platform lock ${file}`)
}
