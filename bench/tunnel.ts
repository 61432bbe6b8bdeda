// npm run bench:tunnel — `ukc tunnel` beside `ssh -L`, in the same run, to the same private targets
// (an echo, Postgres, Redis on the embedded platform): direct to their private endpoints; `ssh -L`
// through a private OpenSSH server on loopback; `ukc tunnel` (client → TLS gateway → relay instance →
// private endpoint); and the tunnel alone (client program → TLS terminator → relay program → the
// target processes), which separates the platform's own hops from what runs on the real cloud.
// Every metric runs in alternating rounds (the paths' order rotates each round); the table shows the
// median of the rounds. BENCH_SCALE scales the sizes (0.25 for a quick look), BENCH_ROUNDS the rounds
// (default 3), BENCH_CPU_PROF=<dir> writes V8 CPU profiles of the node processes (client, relay,
// platform daemon). A measurement that fails shows as n/a with its reason (exit 1), after the others.
import {type ChildProcess, execFileSync, spawn, spawnSync} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {setTimeout as delay} from 'node:timers/promises'
import {fileURLToPath, pathToFileURL} from 'node:url'

import {type Endpoint, MiB, bulk, idleMemory, median, percentile, pgbench, pgbenchInit, redisBenchmark, rtt, setup, slowReader, ownCpuSeconds, treeCpuSeconds} from './tunnel-load.js'
import {OwnedProcesses, type StartedPath, sshMissing, startSsh, startTunnelAlone} from './tunnel-paths.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const BIN = path.join(ROOT, 'bin', 'run.js')
const SCALE = Number(process.env.BENCH_SCALE ?? 1)
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3))
const PROFILE_DIR = process.env.BENCH_CPU_PROF ? path.resolve(process.env.BENCH_CPU_PROF) : undefined
/** Node refuses --cpu-prof in NODE_OPTIONS: a preload starts the profiler instead (bench/cpu-profile.mjs). */
const PROFILE_PRELOAD = pathToFileURL(path.join(ROOT, 'bench', 'cpu-profile.mjs')).href
const PG_PASSWORD = 'bench-only-password'
const owned = new OwnedProcesses()
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-bench-tunnel-'))
fs.chmodSync(dir, 0o755)
const env: NodeJS.ProcessEnv = {...process.env, UKC_LOCAL_DIR: path.join(dir, 'platform'), XDG_CONFIG_HOME: path.join(dir, 'config'), XDG_DATA_HOME: path.join(dir, 'data'), UKC_NO_PROMPT: '1', NO_COLOR: '1'}
for (const name of ['UKC_TOKEN', 'UKC_METRO', 'UKC_PROFILE']) delete env[name]
/** For the long-lived node processes only (the platform daemon, `ukc tunnel`): profiled when asked. */
const profiledEnv: NodeJS.ProcessEnv = PROFILE_DIR ? {...env, UKC_BENCH_CPU_PROF_DIR: PROFILE_DIR, NODE_OPTIONS: `${env.NODE_OPTIONS ?? ''} --import=${PROFILE_PRELOAD}`.trim()} : env

function ukc(args: string[], withEnv = env): string {
  return execFileSync(process.execPath, [BIN, ...args], {env: withEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 180_000})
}

type PathName = 'direct' | 'ssh' | 'ukc' | 'alone'
const PATHS: PathName[] = ['direct', 'ssh', 'ukc', 'alone']
const TARGETS = ['echo', 'pg', 'redis'] as const
type Target = (typeof TARGETS)[number]
interface BenchPath {
  to: Record<Target, Endpoint>
  /** Process → pid whose CPU (with its children's) this path costs. */
  pids: Record<string, number>
}

/**
 * A process's CPU with its children's (socat and sshd fork per connection), except the platform
 * daemon's: its children are the instances — the echo target, and on the ukc path the relay, which has
 * a column of its own — so the daemon's own time is what its hops (gateway, private endpoints) cost.
 */
function cpuSeconds(proc: string, pid: number): number {
  return proc === 'platform daemon' ? ownCpuSeconds(pid) : treeCpuSeconds(pid)
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

/** `metric` on every path, ROUNDS times, the order rotating each round; each path's values in round order. */
async function rounds<T>(what: string, paths: Partial<Record<PathName, BenchPath>>, fallback: T, f: (p: BenchPath, name: PathName) => Promise<T>): Promise<Record<PathName, T[]>> {
  process.stderr.write(`${what}…\n`)
  const out: Record<PathName, T[]> = {direct: [], ssh: [], ukc: [], alone: []}
  const present = PATHS.filter((name) => paths[name])
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < present.length; i++) {
      const name = present[(i + round) % present.length] as PathName
      out[name].push(await measured(`${what} (${name})`, fallback, () => f(paths[name] as BenchPath, name)))
    }
  }
  return out
}

const started = Date.now()
function toPath(started: StartedPath): BenchPath {
  const [echo, pg, redis] = started.endpoints as [Endpoint, Endpoint, Endpoint]
  return {to: {echo, pg, redis}, pids: started.pids}
}

async function main(): Promise<void> {
  process.stderr.write(`platform in ${dir}${PROFILE_DIR ? `; CPU profiles in ${PROFILE_DIR}` : ''}\n`)
  ukc(['local', 'start', '--api-port', '0', '--gateway-port', '0'], profiledEnv)
  ukc(['instance', 'create', '--name', 'echo', '--start', '--wait', 'ukc/echo'])
  ukc(['instance', 'create', '--name', 'redis', '--start', '--wait', 'redis:7'])
  ukc(['instance', 'create', '--name', 'pg', '--env', `POSTGRES_PASSWORD=${PG_PASSWORD}`, '--start', '--wait', '--wait-timeout', '150s', 'postgres:16'])
  const state = JSON.parse(fs.readFileSync(path.join(dir, 'platform', 'state.json'), 'utf8')) as {instances: Array<{name: string; private_ip: string; backend_ip: string}>}
  const instance = (name: Target): {private_ip: string; backend_ip: string} => {
    const found = state.instances.find((i) => i.name === name)
    if (!found) throw new Error(`instance ${name} is not in the platform's state`)
    return found
  }
  const ports: Record<Target, number> = {echo: 9000, pg: 5432, redis: 6379}
  const privateEndpoint = (t: Target): Endpoint => ({host: instance(t).private_ip, port: ports[t]})
  const processEndpoint = (t: Target): Endpoint => ({host: instance(t).backend_ip, port: ports[t]})
  const platformPid = (JSON.parse(fs.readFileSync(path.join(dir, 'platform', 'platform.json'), 'utf8')) as {pid: number}).pid

  const paths: Partial<Record<PathName, BenchPath>> = {
    direct: {to: {echo: privateEndpoint('echo'), pg: privateEndpoint('pg'), redis: privateEndpoint('redis')}, pids: {'platform daemon': platformPid}},
  }
  paths.ukc = await startUkcTunnel(platformPid)
  const noSsh = sshMissing()
  if (noSsh) process.stderr.write(`ssh -L column skipped: ${noSsh}\n`)
  else paths.ssh = await measured('starting sshd and ssh -L', undefined, async () => toPath(await startSsh(owned, path.join(dir, 'ssh'), TARGETS.map(privateEndpoint))))
  paths.alone = await measured('starting the tunnel alone', undefined, async () => toPath(await startTunnelAlone(owned, path.join(dir, 'alone'), TARGETS.map(processEndpoint), ROOT, profiledEnv)))
  await pgbenchInit(privateEndpoint('pg'), PG_PASSWORD)

  // CPU per MiB: every process of a path, over its bulk runs (1 and 8 connections).
  const cpu: Record<PathName, Record<string, number>> = {direct: {}, ssh: {}, ukc: {}, alone: {}}
  const moved: Record<PathName, number> = {direct: 0, ssh: 0, ukc: 0, alone: 0}
  const bulkBytes = Math.round(64 * MiB * SCALE)
  const accounted = async (p: BenchPath, name: PathName, conns: number, bytes: number): Promise<number> => {
    const before = Object.entries(p.pids).map(([proc, pid]) => cpuSeconds(proc, pid))
    const rate = await bulk(p.to.echo, conns, bytes)
    Object.entries(p.pids).forEach(([proc, pid], i) => (cpu[name][proc] = (cpu[name][proc] ?? 0) + cpuSeconds(proc, pid) - (before[i] ?? 0)))
    moved[name] += (conns * bytes) / MiB
    return rate
  }
  // Unmeasured warm-up of every path (JIT, TCP windows, the relay's stream windows).
  process.stderr.write('warm-up…\n')
  for (const name of PATHS) if (paths[name]) await measured(`warm-up (${name})`, NaN, () => bulk(paths[name]!.to.echo, 2, Math.round(16 * MiB * SCALE)))
  const bulk1 = await rounds('bulk echo, 1 connection', paths, NaN, (p, name) => accounted(p, name, 1, bulkBytes))
  const bulk8 = await rounds('bulk echo, 8 connections', paths, NaN, (p, name) => accounted(p, name, 8, Math.round(bulkBytes / 4)))
  const pgTps = await rounds('pgbench select-only', paths, NaN, (p) => pgbench(p.to.pg, PG_PASSWORD, Math.max(1, Math.round(2 * SCALE))))
  const redis = await rounds('redis-benchmark SET/GET', paths, {set: NaN, get: NaN}, (p) => redisBenchmark(p.to.redis, Math.round(3_000 * SCALE)))
  const setups = await rounds('new connection → first byte', paths, [] as number[], (p) => setup(p.to.echo, Math.round(100 * Math.max(SCALE, 0.5))))
  const rtts = await rounds('64-byte round trips', paths, [] as number[], (p) => rtt(p.to.echo, Math.round(1000 * Math.max(SCALE, 0.5))))

  process.stderr.write('tunnel only: idle memory with 1,000 connections, a slow reader…\n')
  const tunnelPids = [paths.ukc.pids.client ?? 0, paths.ukc.pids.relay ?? 0]
  const [clientIdle = NaN, relayIdle = NaN] = await measured('idle memory (ukc tunnel)', [], () => idleMemory(paths.ukc!.to.echo, 1000, tunnelPids))
  const slowBytes = Math.round(128 * MiB * SCALE)
  const [clientGrowth = NaN, relayGrowth = NaN] = await measured('slow reader (ukc tunnel)', [], () => slowReader(paths.ukc!.to.echo, slowBytes, tunnelPids))

  const fmt = (n: number): string => (Number.isFinite(n) ? (n >= 100 ? n.toFixed(0) : n.toFixed(n >= 10 ? 1 : 2)) : 'n/a')
  const byPath = (f: (name: PathName) => number): Record<PathName, number> => ({direct: f('direct'), ssh: f('ssh'), ukc: f('ukc'), alone: f('alone')})
  const med = (values: Record<PathName, number[]>): Record<PathName, number> => byPath((name) => median(values[name]))
  const pct = (values: Record<PathName, number[][]>, p: number): Record<PathName, number> => byPath((name) => median(values[name].map((v) => percentile(v, p))))
  const perMiB = (procs: (name: PathName) => string[]): Record<PathName, number> =>
    byPath((name) => (paths[name] && moved[name] > 0 ? (1000 * procs(name).reduce((sum, proc) => sum + (cpu[name][proc] ?? NaN), 0)) / moved[name] : NaN))
  type Row = [metric: string, values: Record<PathName, number>, goal: string]
  const rows: Row[] = [
    ['bulk echo, 1 conn (MiB/s)', med(bulk1), '≥ 1.0'],
    ['bulk echo, 8 conns (MiB/s)', med(bulk8), '≥ 1.0'],
    ['pgbench select-only, 8 clients (TPS)', med(pgTps), '≥ 1.0'],
    ['redis-benchmark SET, 16 clients (req/s)', byPath((n) => median(redis[n].map((r) => r.set))), '≥ 1.0'],
    ['redis-benchmark GET, 16 clients (req/s)', byPath((n) => median(redis[n].map((r) => r.get))), '≥ 1.0'],
    ['new conn → first byte p50 (ms)', pct(setups, 50), ''],
    ['new conn → first byte p99 (ms)', pct(setups, 99), ''],
    ['64 B round trip p50 (µs)', pct(rtts, 50), '≤ 1.2'],
    ['64 B round trip p99 (µs)', pct(rtts, 99), ''],
    ['CPU per MiB: client process (ms)', perMiB((n) => (n === 'ssh' ? ['ssh'] : n === 'direct' ? [] : ['client'])), ''],
    ['CPU per MiB: relay / sshd (ms)', perMiB((n) => (n === 'ssh' ? ['sshd'] : n === 'direct' ? [] : ['relay'])), ''],
    ['CPU per MiB: TLS + platform hops (ms)', perMiB((n) => (n === 'alone' ? ['TLS (socat)'] : n === 'ssh' ? [] : ['platform daemon'])), ''],
    ['CPU per MiB: whole path (ms)', perMiB((n) => Object.keys(paths[n]?.pids ?? {})), ''],
  ]
  const lines = [
    `ukc tunnel vs ssh -L — ${os.cpus().length} CPU(s), Node ${process.version}, ${sshVersion()}, scale ${SCALE}, median of ${ROUNDS} alternating rounds`,
    'direct: the private IPs (kernel-forwarded to the instance as root, else the private endpoints); ukc tunnel: client → TLS gateway → relay instance → private IP; tunnel alone: client → TLS (socat) → relay → target process',
    '',
    '| metric | direct | ssh -L | ukc tunnel | tunnel alone | ukc/ssh | alone/ssh | goal (ukc/ssh) |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map(([metric, v, goal]) => `| ${metric} | ${fmt(v.direct)} | ${fmt(v.ssh)} | ${fmt(v.ukc)} | ${fmt(v.alone)} | ${fmt(v.ukc / v.ssh)} | ${fmt(v.alone / v.ssh)} | ${goal} |`),
    '',
    `ukc tunnel only: idle memory per connection with 1,000 open (KiB): client ${fmt(clientIdle)} / relay ${fmt(relayIdle)} (goal ≤ 16 per side); ` +
      `RSS growth with a slow reader over ${fmt(slowBytes / MiB)} MiB (MiB): client ${fmt(clientGrowth)} / relay ${fmt(relayGrowth)} (goal ≤ 64)`,
    `CPU per MiB counts user + system time over the bulk runs, per MiB echoed: each process with its children, the platform daemon without them (its children are the instances); the echo server and the load generator are not counted`,
    `took ${Math.round((Date.now() - started) / 1000)} s`,
    ...(failures.length > 0 ? ['', `${failures.length} measurement(s) failed (n/a above):`, ...failures.map((f) => `- ${f}`)] : []),
  ]
  process.stdout.write(`${lines.join('\n')}\n`)
  if (failures.length > 0) process.exitCode = 1
}

/** `ukc tunnel --json` to the three targets; its local ports, and the pids of client and relay. */
async function startUkcTunnel(platformPid: number): Promise<BenchPath & {pids: {client: number; relay: number}}> {
  const tunnel: ChildProcess = spawn(process.execPath, [BIN, 'tunnel', '--json', '0:echo:9000', '0:pg:5432', '0:redis:6379'], {env: profiledEnv, stdio: ['ignore', 'pipe', 'inherit']})
  owned.adopt(tunnel)
  let out = ''
  tunnel.stdout?.on('data', (d: Buffer) => (out += d.toString()))
  for (let i = 0; i < 2400 && !out.includes('\n') && tunnel.exitCode === null; i++) await delay(50)
  if (!out.includes('\n')) throw new Error(`ukc tunnel did not become ready (exit ${tunnel.exitCode})`)
  const ready = JSON.parse(out.split('\n')[0] ?? '{}') as {relay: {uuid: string}; mappings: Array<{local: string}>}
  const local = (i: number): Endpoint => ({host: '127.0.0.1', port: Number(ready.mappings[i]?.local.split(':').pop())})
  const relayInfo = (JSON.parse(ukc(['instance', 'get', ready.relay.uuid, '--json'])) as Array<{args: string[]}>)[0]
  const hash = relayInfo?.args.find((a) => a.startsWith('--token-sha256='))?.split('=')[1] ?? ''
  const relayPid = Number(execFileSync('pgrep', ['-f', '--', `token-sha256=${hash}`], {encoding: 'utf8'}).trim().split('\n')[0])
  return {to: {echo: local(0), pg: local(1), redis: local(2)}, pids: {client: tunnel.pid ?? 0, 'platform daemon': platformPid, relay: relayPid}}
}

function sshVersion(): string {
  // ssh -V prints to stderr.
  const {stderr, error} = spawnSync('ssh', ['-V'], {encoding: 'utf8'})
  return error ? 'no ssh' : stderr.trim().split(',')[0] ?? 'ssh'
}

main()
  .catch((error: Error) => {
    process.stderr.write(`bench failed: ${error.stack ?? error.message}\n`)
    process.exitCode = 1
  })
  .finally(async () => {
    await owned.endAll()
    try {
      ukc(['local', 'stop'])
    } catch {
      // already gone
    }
    fs.rmSync(dir, {recursive: true, force: true})
  })
