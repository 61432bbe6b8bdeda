// npm run bench:tunnel — the tunnel through the embedded platform (client → TLS gateway :443 → relay
// instance → private endpoint → ukc/echo), beside a socat two-hop TCP relay chain to the same echo
// and direct loopback to it, all measured in this run. Prints a table with ratios against socat.
// Bounded in time: sizes scale with BENCH_SCALE (default 1; 0.25 for a quick look). A measurement that
// fails shows as n/a with its reason, after the others ran (exit 1). One file past ~350 lines on
// purpose: the measurements and their socket helpers read as one program.
import {type ChildProcess, execFileSync, spawn} from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {setTimeout as delay} from 'node:timers/promises'
import {fileURLToPath} from 'node:url'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const BIN = path.join(ROOT, 'bin', 'run.js')
const SCALE = Number(process.env.BENCH_SCALE ?? 1)
const MiB = 1024 * 1024
const owned: ChildProcess[] = []
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-bench-tunnel-'))
fs.chmodSync(dir, 0o755)
const env: NodeJS.ProcessEnv = {...process.env, UKC_LOCAL_DIR: path.join(dir, 'platform'), XDG_CONFIG_HOME: path.join(dir, 'config'), XDG_DATA_HOME: path.join(dir, 'data'), UKC_NO_PROMPT: '1', NO_COLOR: '1'}
for (const name of ['UKC_TOKEN', 'UKC_METRO', 'UKC_PROFILE']) delete env[name]

function ukc(args: string[]): string {
  return execFileSync(process.execPath, [BIN, ...args], {env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000})
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
  return (Number(fields[11]) + Number(fields[12])) / 100
}

function rssKiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
}

async function freePort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as net.AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

async function waitListening(port: number): Promise<void> {
  // The bench's own loopback listeners only.
  for (let i = 0; i < 200; i++) {
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
  throw new Error(`nothing listens on ${port}`)
}

interface Endpoint {
  host: string
  port: number
}

function connect(to: Endpoint): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({port: to.port, host: to.host, noDelay: true}, () => resolve(s))
    s.once('error', reject)
  })
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN
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

/** Echo round trip of `bytes` on each of `conns` connections; MB/s of payload echoed. */
async function bulk(port: Endpoint, conns: number, bytes: number): Promise<number> {
  const chunk = crypto.randomBytes(64 * 1024)
  const started = process.hrtime.bigint()
  await Promise.all(
    Array.from({length: conns}, async (_, i) => {
      const s = await connect(port)
      try {
        const back = echoed(s, bytes, i)
        await Promise.all([back, pump(s, bytes, chunk)])
      } finally {
        s.destroy()
      }
    }),
  )
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  return (conns * bytes) / MiB / seconds
}

/** connect → 1 byte → first echoed byte, sequentially; milliseconds. */
async function setup(port: Endpoint, count: number): Promise<number[]> {
  const times: number[] = []
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint()
    const s = await connect(port)
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

/** 64-byte ping-pong on one connection; microseconds. */
async function rtt(port: Endpoint, count: number): Promise<number[]> {
  const s = await connect(port)
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
    for (let i = 0; i < count + 200; i++) {
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
      if (i >= 200) times.push(Number(process.hrtime.bigint() - t0) / 1e3)
    }
  } finally {
    s.destroy()
  }
  return times
}

/** Opens `count` echoed connections and returns the RSS delta (KiB per connection) of each pid. */
async function idleMemory(port: Endpoint, count: number, pids: () => number[]): Promise<number[]> {
  global.gc?.()
  await delay(500)
  const before = pids().map(rssKiB)
  const sockets: net.Socket[] = []
  try {
    for (let i = 0; i < count; i += 50) {
      await Promise.all(
      Array.from({length: Math.min(50, count - i)}, async () => {
        const s = await connect(port)
        sockets.push(s)
        const back = echoed(s, 1, sockets.length)
        s.write('x')
        await back
        return s
        }),
      )
    }
    await delay(1000)
    const afterRss = pids().map(rssKiB)
    return afterRss.map((a, i) => (a - (before[i] ?? 0)) / count)
  } finally {
    for (const s of sockets) s.destroy()
  }
}

/** Sends `total` bytes through the echo while reading slowly; max RSS growth (MiB) of each pid. */
async function slowReader(port: Endpoint, total: number, pids: number[]): Promise<number[]> {
  const base = pids.map(rssKiB)
  const peak = [...base]
  const sampler = setInterval(() => pids.forEach((pid, i) => (peak[i] = Math.max(peak[i] ?? 0, rssKiB(pid)))), 100)
  const s = await connect(port)
  // Read 4 ms out of every 20 ms: a reader several times slower than the pipe.
  const throttle = setInterval(() => {
    s.resume()
    setTimeout(() => s.pause(), 4)
  }, 20)
  try {
    const back = echoed(s, total, 0)
    await Promise.all([back, pump(s, total, crypto.randomBytes(64 * 1024))])
  } finally {
    clearInterval(throttle)
    clearInterval(sampler)
    s.destroy()
  }
  return peak.map((p, i) => (p - (base[i] ?? 0)) / 1024)
}

/** Debian's socat, twice: 127.0.0.1:a → 127.0.0.1:b → target. */
async function socatChain(target: Endpoint): Promise<Endpoint> {
  const [a, b] = [await freePort(), await freePort()]
  for (const [listen, to] of [
    [b, `${target.host}:${target.port}`],
    [a, `127.0.0.1:${b}`],
  ] as const) {
    const child = spawn('socat', [`TCP-LISTEN:${listen},fork,reuseaddr,bind=127.0.0.1`, `TCP:${to}`], {stdio: 'ignore'})
    owned.push(child)
    await waitListening(listen)
  }
  return {host: '127.0.0.1', port: a}
}

/** Measurements that failed: the table shows n/a for them and the run exits 1, after the others ran. */
const failures: string[] = []

async function measured<T>(what: string, fallback: T, run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (error) {
    failures.push(`${what}: ${(error as Error).message}`)
    process.stderr.write(`${what} failed: ${(error as Error).message}\n`)
    return fallback
  }
}

async function main(): Promise<void> {
  const started = Date.now()
  process.stderr.write(`platform in ${dir}\n`)
  ukc(['local', 'start', '--api-port', '0', '--gateway-port', '0'])
  ukc(['instance', 'create', '--name', 'echo', '--start', '--wait', 'ukc/echo'])
  const echo = (JSON.parse(ukc(['instance', 'get', 'echo', '--json'])) as Array<{private_ip: string}>)[0]
  if (!echo?.private_ip) throw new Error('echo instance has no private IP')
  const echoPort = 9000

  const tunnel = spawn(process.execPath, [BIN, 'tunnel', '--json', '0:echo:9000'], {env, stdio: ['ignore', 'pipe', 'inherit']})
  owned.push(tunnel)
  let out = ''
  tunnel.stdout?.on('data', (d: Buffer) => (out += d.toString()))
  for (let i = 0; i < 1200 && !out.includes('\n'); i++) await delay(50)
  const ready = JSON.parse(out.split('\n')[0] ?? '{}') as {relay: {uuid: string}; mappings: Array<{local: string}>}
  const tunnelPort = Number(ready.mappings[0]?.local.split(':').pop())
  const relayInfo = (JSON.parse(ukc(['instance', 'get', ready.relay.uuid, '--json'])) as Array<{args: string[]}>)[0]
  const hash = relayInfo?.args.find((a) => a.startsWith('--token-sha256='))?.split('=')[1] ?? ''
  const relayPid = Number(execFileSync('pgrep', ['-f', '--', `token-sha256=${hash}`], {encoding: 'utf8'}).trim().split('\n')[0])

  // The echo's private endpoint (on its 127.16/12 private IP) accepts the host: "direct" dials it,
  // and so does the end of the socat chain.
  const direct: Endpoint = {host: echo.private_ip, port: echoPort}
  const socat = await socatChain(direct)

  type Row = {metric: string; direct: number; socat: number; tunnel: number; unit: string; goal: string; better: 'higher' | 'lower'}
  const rows: Row[] = []
  const paths = {direct, socat, tunnel: {host: '127.0.0.1', port: tunnelPort}}
  const each = async <T>(what: string, fallback: T, f: (to: Endpoint) => Promise<T>): Promise<{direct: T; socat: T; tunnel: T}> => ({
    direct: await measured(`${what} (direct)`, fallback, () => f(paths.direct)),
    socat: await measured(`${what} (socat)`, fallback, () => f(paths.socat)),
    tunnel: await measured(`${what} (tunnel)`, fallback, () => f(paths.tunnel)),
  })
  const bulkBytes = Math.round(256 * MiB * SCALE)
  process.stderr.write('bulk, 1 connection…\n')
  // Where the CPU goes on the tunnel path (2 vCPUs shared by every process below and the driver).
  const platformPid = (JSON.parse(fs.readFileSync(path.join(dir, 'platform', 'platform.json'), 'utf8')) as {pid: number}).pid
  const cpuPids = {'ukc tunnel': tunnel.pid ?? 0, 'platform daemon (gateway TLS + private endpoints)': platformPid, relay: relayPid}
  const bulkOne = {
    direct: await measured('bulk, 1 connection (direct)', NaN, () => bulk(paths.direct, 1, bulkBytes)),
    socat: await measured('bulk, 1 connection (socat)', NaN, () => bulk(paths.socat, 1, bulkBytes)),
    tunnel: NaN,
  }
  const cpuBefore = Object.values(cpuPids).map(cpuSeconds)
  const wallStart = Date.now()
  bulkOne.tunnel = await measured('bulk, 1 connection (tunnel)', NaN, () => bulk(paths.tunnel, 1, bulkBytes))
  const wall = (Date.now() - wallStart) / 1000
  const cpuShare = Object.keys(cpuPids).map((name, i) => `${name} ${Math.round((100 * (cpuSeconds(Object.values(cpuPids)[i] ?? 0) - (cpuBefore[i] ?? 0))) / wall)}%`)
  rows.push({metric: 'bulk echo, 1 conn', ...bulkOne, unit: 'MiB/s', goal: '≥ 1.0× socat', better: 'higher'})
  process.stderr.write('bulk, 8 connections…\n')
  rows.push({metric: 'bulk echo, 8 conns', ...(await each('bulk, 8 connections', NaN, (p) => bulk(p, 8, Math.round(bulkBytes / 4)))), unit: 'MiB/s', goal: '≥ 1.0× socat', better: 'higher'})
  process.stderr.write('connection setup…\n')
  const setups = await each('connection setup', [] as number[], (p) => setup(p, 300))
  rows.push({metric: 'new conn → first byte p50', direct: percentile(setups.direct, 50), socat: percentile(setups.socat, 50), tunnel: percentile(setups.tunnel, 50), unit: 'ms', goal: '≤ 3× socat', better: 'lower'})
  rows.push({metric: 'new conn → first byte p99', direct: percentile(setups.direct, 99), socat: percentile(setups.socat, 99), tunnel: percentile(setups.tunnel, 99), unit: 'ms', goal: '', better: 'lower'})
  process.stderr.write('64-byte round trips…\n')
  const rtts = await each('64-byte round trips', [] as number[], (p) => rtt(p, 3000))
  rows.push({metric: '64 B round trip p50', direct: percentile(rtts.direct, 50), socat: percentile(rtts.socat, 50), tunnel: percentile(rtts.tunnel, 50), unit: 'µs', goal: '≤ 2× socat', better: 'lower'})
  rows.push({metric: '64 B round trip p99', direct: percentile(rtts.direct, 99), socat: percentile(rtts.socat, 99), tunnel: percentile(rtts.tunnel, 99), unit: 'µs', goal: '', better: 'lower'})

  process.stderr.write('idle memory with 1,000 connections…\n')
  const [clientIdle = NaN, relayIdle = NaN] = await measured('idle memory (tunnel)', [], () => idleMemory(paths.tunnel, 1000, () => [tunnel.pid ?? 0, relayPid]))
  const socatIdle = await measured('idle memory (socat)', NaN, () => socatIdleMemory(paths.socat, 200))
  process.stderr.write('slow reader…\n')
  const slowBytes = Math.round(1024 * MiB * SCALE)
  const [clientGrowth = NaN, relayGrowth = NaN] = await measured('slow reader (tunnel)', [], () => slowReader(paths.tunnel, slowBytes, [tunnel.pid ?? 0, relayPid]))

  const fmt = (n: number): string => (Number.isFinite(n) ? (n >= 100 ? n.toFixed(0) : n.toFixed(n >= 10 ? 1 : 2)) : 'n/a')
  const lines = [
    `ukc tunnel benchmark — ${os.cpus().length} CPU(s), Node ${process.version}, scale ${SCALE}; path: client → TLS gateway → relay instance → private endpoint → ukc/echo`,
    '',
    `| metric | direct | socat two-hop | ukc tunnel | tunnel / socat | goal |`,
    `|---|---|---|---|---|---|`,
    ...rows.map((r) => `| ${r.metric} (${r.unit}) | ${fmt(r.direct)} | ${fmt(r.socat)} | ${fmt(r.tunnel)} | ${fmt(r.tunnel / r.socat)}× | ${r.goal} |`),
    `| idle memory per conn, 1,000 open (KiB) | — | ${fmt(socatIdle)} (2 forked processes per conn, 200 sampled) | client ${fmt(clientIdle)} / relay ${fmt(relayIdle)} | | ≤ 16 KiB per side |`,
    `| RSS growth, slow reader, ${fmt(slowBytes / MiB)} MiB (MiB) | — | — | client ${fmt(clientGrowth)} / relay ${fmt(relayGrowth)} | | ≤ 64 MiB |`,
    '',
    `CPU during the tunnel's 1-connection bulk run (100% = one core): ${cpuShare.join(', ')}, plus the driver and ukc/echo`,
    `took ${Math.round((Date.now() - started) / 1000)} s`,
    ...(failures.length > 0 ? ['', `${failures.length} measurement(s) failed (n/a above):`, ...failures.map((f) => `- ${f}`)] : []),
  ]
  process.stdout.write(`${lines.join('\n')}\n`)
  if (failures.length > 0) process.exitCode = 1
}

/** socat forks a process per connection: their summed RSS per connection. */
async function socatIdleMemory(port: Endpoint, count: number): Promise<number> {
  const sockets: net.Socket[] = []
  try {
    for (let i = 0; i < count; i++) {
      const s = await connect(port)
      sockets.push(s)
      const back = echoed(s, 1, i)
      s.write('x')
      await back
    }
    const pids = owned.filter((c) => c.spawnargs[0] === 'socat').map((c) => c.pid ?? 0)
    let total = 0
    for (const parent of pids) {
      const children = execFileSync('ps', ['-o', 'rss=', '--ppid', String(parent)], {encoding: 'utf8'}).trim().split('\n').filter(Boolean)
      total += children.reduce((sum, line) => sum + Number(line.trim()), 0)
    }
    return total / count
  } finally {
    for (const s of sockets) s.destroy()
  }
}

main()
  .catch((error: Error) => {
    process.stderr.write(`bench failed: ${error.stack ?? error.message}\n`)
    process.exitCode = 1
  })
  .finally(() => {
    for (const child of owned.reverse()) child.kill('SIGINT')
    try {
      ukc(['local', 'stop'])
    } catch {
      // already gone
    }
    fs.rmSync(dir, {recursive: true, force: true})
  })
