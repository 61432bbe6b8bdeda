// The loads bench:tunnel puts on each path (one path = one host:port that ends at a target) and the
// process accounting it reports: echo bulk, new connection → first byte, 64-byte round trips, pgbench
// and redis-benchmark runs, idle memory and a slow reader, CPU seconds of a process tree.
import {execFile} from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import {setTimeout as delay} from 'node:timers/promises'
import {promisify} from 'node:util'

const run = promisify(execFile)
export const MiB = 1024 * 1024

export interface Endpoint {
  host: string
  port: number
}

function stat(pid: number): string[] | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')
  } catch {
    return undefined
  }
}

/** CPU seconds (user + system) used so far by `pid` itself. */
export function ownCpuSeconds(pid: number): number {
  const fields = stat(pid)
  return fields ? (Number(fields[11]) + Number(fields[12])) / 100 : 0
}

/** CPU seconds (user + system) used so far by `pid` and every process below it. */
export function treeCpuSeconds(pid: number): number {
  const children = new Map<number, number[]>()
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const parent = Number(stat(Number(entry))?.[1])
    children.set(parent, [...(children.get(parent) ?? []), Number(entry)])
  }
  let total = 0
  const walk = (p: number): void => {
    const fields = stat(p)
    if (fields) total += (Number(fields[11]) + Number(fields[12])) / 100
    for (const child of children.get(p) ?? []) walk(child)
  }
  walk(pid)
  return total
}

export function rssKiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
}

export async function freePort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as net.AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** Polls until something accepts on 127.0.0.1:`port` (the bench's own listeners only). */
export async function waitListening(port: number, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy()
        resolve(true)
      })
      s.on('error', () => resolve(false))
    })
    if (ok) return
    await delay(25)
  }
  throw new Error(`${what}: nothing listens on 127.0.0.1:${port}`)
}

function connect(to: Endpoint): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({port: to.port, host: to.host, noDelay: true}, () => resolve(s))
    s.once('error', reject)
  })
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN
}

export function median(values: number[]): number {
  const finite = values.filter(Number.isFinite)
  return finite.length === 0 ? NaN : percentile(finite, 50)
}

/** Writes `total` bytes of `chunk` honouring backpressure; rejects if the socket fails or closes first. */
async function pump(s: net.Socket, total: number, chunk: Buffer): Promise<void> {
  for (let sent = 0; sent < total; sent += chunk.length) {
    if (s.destroyed) throw new Error(`the connection closed after ${sent} of ${total} bytes were sent`)
    if (!s.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          s.off('drain', done).off('close', done)
          resolve()
        }
        s.on('drain', done).on('close', done)
      })
    }
  }
}

/** Resolves once `total` bytes came back; rejects (naming connection `i`) on an error or an early close. */
function echoed(s: net.Socket, total: number, i: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let received = 0
    s.on('data', (d: Buffer) => {
      received += d.length
      if (received >= total) resolve()
    })
    s.once('error', (error) => reject(new Error(`connection ${i}: ${error.message}`)))
    s.once('close', () => reject(new Error(`connection ${i} closed after ${received} of ${total} bytes came back`)))
  })
}

/** Echo round trip of `bytes` on each of `conns` connections; MiB/s of payload echoed. */
export async function bulk(to: Endpoint, conns: number, bytes: number): Promise<number> {
  const chunk = crypto.randomBytes(64 * 1024)
  const started = process.hrtime.bigint()
  await Promise.all(
    Array.from({length: conns}, async (_, i) => {
      const s = await connect(to)
      try {
        await Promise.all([echoed(s, bytes, i), pump(s, bytes, chunk)])
      } finally {
        s.destroy()
      }
    }),
  )
  return (conns * bytes) / MiB / (Number(process.hrtime.bigint() - started) / 1e9)
}

/** connect → 1 byte → first echoed byte, sequentially; milliseconds. */
export async function setup(to: Endpoint, count: number): Promise<number[]> {
  const times: number[] = []
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint()
    const s = await connect(to)
    try {
      const back = echoed(s, 1, i)
      s.write('x')
      await back
    } finally {
      s.destroy()
    }
    times.push(Number(process.hrtime.bigint() - t0) / 1e6)
  }
  return times
}

/** 64-byte ping-pong on one connection, after 100 unmeasured ones; microseconds. */
export async function rtt(to: Endpoint, count: number): Promise<number[]> {
  const s = await connect(to)
  const payload = Buffer.alloc(64, 1)
  const times: number[] = []
  let failed: Error | undefined
  let wake: () => void = () => undefined
  const fail = (error: Error): void => {
    failed ??= error
    wake()
  }
  s.once('error', fail).once('close', () => fail(new Error('the connection closed during the round trips')))
  try {
    for (let i = 0; i < count + 100; i++) {
      const t0 = process.hrtime.bigint()
      await new Promise<void>((resolve) => {
        let got = 0
        const on = (d: Buffer): void => {
          got += d.length
          if (got >= 64) {
            s.off('data', on)
            resolve()
          }
        }
        wake = resolve
        s.on('data', on)
        s.write(payload)
      })
      if (failed) throw failed
      if (i >= 100) times.push(Number(process.hrtime.bigint() - t0) / 1e3)
    }
  } finally {
    s.destroy()
  }
  return times
}

/** pgbench select-only for `seconds` with 8 clients; TPS without the initial connection time. */
export async function pgbench(to: Endpoint, password: string, seconds: number): Promise<number> {
  const args = ['-n', '-S', '-T', String(seconds), '-c', '8', '-j', '2', '-h', to.host, '-p', String(to.port), '-U', 'postgres', 'postgres']
  const {stdout} = await run('pgbench', args, {env: {...process.env, PGPASSWORD: password}, timeout: (seconds + 60) * 1000})
  const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(stdout)?.[1]
  if (!tps) throw new Error(`pgbench printed no TPS: ${stdout.slice(-200)}`)
  return Number(tps)
}

/** pgbench -i once, through `to` (the tables the select-only runs read). */
export async function pgbenchInit(to: Endpoint, password: string): Promise<void> {
  await run('pgbench', ['-i', '-q', '-s', '1', '-h', to.host, '-p', String(to.port), '-U', 'postgres', 'postgres'], {env: {...process.env, PGPASSWORD: password}, timeout: 120_000})
}

/** redis-benchmark SET and GET, 16 clients, `requests` each; requests per second by test. */
export async function redisBenchmark(to: Endpoint, requests: number): Promise<{set: number; get: number}> {
  const {stdout} = await run('redis-benchmark', ['-h', to.host, '-p', String(to.port), '-t', 'set,get', '-n', String(requests), '-c', '16', '--csv'], {timeout: 120_000})
  const rate = (test: string): number => Number(new RegExp(`^"${test}","([\\d.]+)"`, 'm').exec(stdout)?.[1] ?? NaN)
  const result = {set: rate('SET'), get: rate('GET')}
  if (!Number.isFinite(result.set) || !Number.isFinite(result.get)) throw new Error(`redis-benchmark printed no rates: ${stdout.slice(-200)}`)
  return result
}

/** Opens `count` echoed connections and returns the RSS delta (KiB per connection) of each pid. */
export async function idleMemory(to: Endpoint, count: number, pids: number[]): Promise<number[]> {
  await delay(500)
  const before = pids.map(rssKiB)
  const sockets: net.Socket[] = []
  try {
    for (let i = 0; i < count; i += 50) {
      await Promise.all(
        Array.from({length: Math.min(50, count - i)}, async () => {
          const s = await connect(to)
          sockets.push(s)
          const back = echoed(s, 1, sockets.length)
          s.write('x')
          await back
        }),
      )
    }
    await delay(1000)
    return pids.map(rssKiB).map((a, i) => (a - (before[i] ?? 0)) / count)
  } finally {
    for (const s of sockets) s.destroy()
  }
}

/** Sends `total` bytes through the echo while reading slowly; max RSS growth (MiB) of each pid. */
export async function slowReader(to: Endpoint, total: number, pids: number[]): Promise<number[]> {
  const base = pids.map(rssKiB)
  const peak = [...base]
  const sampler = setInterval(() => pids.forEach((pid, i) => (peak[i] = Math.max(peak[i] ?? 0, rssKiB(pid)))), 100)
  const s = await connect(to)
  // Read 4 ms out of every 20 ms: a reader several times slower than the pipe.
  const throttle = setInterval(() => {
    s.resume()
    setTimeout(() => s.pause(), 4)
  }, 20)
  try {
    await Promise.all([echoed(s, total, 0), pump(s, total, crypto.randomBytes(64 * 1024))])
  } finally {
    clearInterval(throttle)
    clearInterval(sampler)
    s.destroy()
  }
  return peak.map((p, i) => (p - (base[i] ?? 0)) / 1024)
}
