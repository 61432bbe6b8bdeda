// Running nftables scripts: `nft -f -` with the script on stdin, so one call is one atomic
// transaction (all of it applies, or none). Commands that arrive while one runs are batched into the
// next transaction; when a batch fails, each of its commands is retried alone so that only the caller
// whose command is wrong sees the error.
import {execFile, spawn} from 'node:child_process'

import {findBinary} from '../runtime/host-binaries.js'

/** The nft binary, or undefined when nftables is not installed. */
export function nftBinary(): string | undefined {
  return findBinary('nft')
}

/** Runs one script as one transaction; rejects with nft's first error line. */
export function runNft(binary: string, script: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ['-f', '-'], {stdio: ['pipe', 'ignore', 'pipe']})
    let errors = ''
    child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()))
    child.once('error', reject)
    child.once('close', (code) => {
      if (code === 0) return resolve()
      const line = errors.split('\n').find((l) => /error/i.test(l)) ?? errors.split('\n')[0] ?? ''
      reject(new Error(`nft: ${line.replace(/^\/dev\/stdin:\d+:\d+-\d+: /, '').trim() || `exit code ${code}`}`))
    })
    child.stdin.on('error', () => {}) // nft exited early: reported by `close`
    child.stdin.end(`${script}\n`)
  })
}

/** Runs `nft -j <args>` (a listing) and resolves with its JSON output. */
export function listNft(binary: string, args: string[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    execFile(binary, ['-j', ...args], {maxBuffer: 1 << 24}, (error, stdout, stderr) => {
      if (error) return reject(new Error(`nft: ${stderr.split('\n')[0] || error.message}`))
      try {
        resolve(JSON.parse(stdout))
      } catch {
        reject(new Error('nft: its JSON listing could not be read'))
      }
    })
  })
}

interface Pending {
  script: string
  done: (error?: Error) => void
}

/** Applies scripts in order; scripts queued while one runs go together in the next transaction. */
export class NftQueue {
  private pending: Pending[] = []
  private draining: Promise<void> | undefined

  constructor(private readonly binary: string) {}

  apply(script: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({script, done: (error) => (error ? reject(error) : resolve())})
      this.draining ??= this.drain()
    })
  }

  /** Resolves once everything queued so far has been applied (or failed). */
  async idle(): Promise<void> {
    while (this.draining) await this.draining
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0)
      try {
        await runNft(this.binary, batch.map((item) => item.script).join('\n'))
        for (const item of batch) item.done()
      } catch (error) {
        if (batch.length === 1) batch[0]?.done(error as Error)
        else for (const item of batch) await runNft(this.binary, item.script).then(() => item.done(), (alone: Error) => item.done(alone))
      }
    }
    this.draining = undefined
  }
}
