// One daemon per data dir, and a lock that a dead owner cannot keep: not as a zombie (a container
// whose init never reaps children), not through a pid that another process now has.
import assert from 'node:assert/strict'
import {type ChildProcess, spawn} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {setTimeout as delay} from 'node:timers/promises'
import {after, before, describe, it} from 'node:test'

import {selfIdentity} from '../../src/local/index.js'
import {AlreadyRunning} from '../../src/platform/index.js'
import {LOCK_FILE, acquireLock} from '../../src/platform/daemon-lock.js'

function stat(pid: number): string[] {
  const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  return text.slice(text.lastIndexOf(')') + 2).split(' ')
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await delay(10)
  }
}

describe('daemon lock', {skip: fs.existsSync('/proc/self/stat') ? false : 'needs /proc'}, () => {
  let dir: string
  // `sleep 0 &` exits at once, and its parent (exec'd into `sleep`) never reaps it: a zombie.
  let parent: ChildProcess
  let zombie: number

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-lock-'))
    parent = spawn('sh', ['-c', 'sleep 0 & exec sleep 600'], {stdio: 'ignore'})
    const pid = parent.pid as number
    zombie = await until('a zombie child', () => {
      const children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
      return children.find((child) => stat(child)[0] === 'Z')
    })
  })

  after(() => {
    parent.kill('SIGKILL')
    fs.rmSync(dir, {recursive: true, force: true})
  })

  it('is taken over from an owner that is a zombie', () => {
    fs.writeFileSync(path.join(dir, LOCK_FILE), `${zombie} ${stat(zombie)[19]}\n`)
    const release = acquireLock(dir)
    assert.match(fs.readFileSync(path.join(dir, LOCK_FILE), 'utf8'), new RegExp(`^${process.pid} `))
    release()
    assert.equal(fs.existsSync(path.join(dir, LOCK_FILE)), false)
  })

  it('is taken over when its pid now belongs to another process', () => {
    const other = parent.pid as number
    fs.writeFileSync(path.join(dir, LOCK_FILE), `${other} ${Number(stat(other)[19]) + 1}\n`)
    acquireLock(dir)()
  })

  it('is refused while its owner runs, naming the pid', () => {
    const other = parent.pid as number
    fs.writeFileSync(path.join(dir, LOCK_FILE), `${other} ${stat(other)[19]}\n`)
    assert.throws(() => acquireLock(dir), (error: Error) => error instanceof AlreadyRunning && error.message.includes(`pid ${other}`))
    fs.rmSync(path.join(dir, LOCK_FILE))
  })

  it('records this process with its start time', () => {
    const release = acquireLock(dir)
    assert.equal(fs.readFileSync(path.join(dir, LOCK_FILE), 'utf8'), `${process.pid} ${selfIdentity().start}\n`)
    release()
  })
})
