// `npm run bench:platform`: the embedded platform's numbers, measured in one run on this machine.
//   create → running p50 (built-in image)         goal ≤ 150 ms
//   standby → first byte p50, stateful/stateless   goal ≤ 10 ms (stateful)
//   gateway HTTPS req/s vs direct req/s            goal ratio ≥ 0.5 (node clients, keep-alive, both sides alike)
//   daemon CPU time per gateway request (Linux)    no goal: unlike req/s it barely moves when other
//                                                  processes compete for the CPUs
//   private IP vs the instance's own socket         goal ratio ≥ 0.9 (bulk echo, pgbench -S; platform-private.ts)
// `npm run bench:platform -- <part>` runs one part alone: private, boot, standby or gateway.
// Bounded: a fixed number of samples and a fixed duration per throughput run. Throughput: a warm-up
// per side, then direct and gateway alternate ROUNDS times and the medians are compared; the same
// comparison is printed again with a raw-socket client that costs almost nothing, where the instance
// bounds direct.
import {execFileSync} from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import os from 'node:os'
import tls from 'node:tls'
import net from 'node:net'
import path from 'node:path'
import {setTimeout as delay} from 'node:timers/promises'
import {pathToFileURL} from 'node:url'

import {UkcClient, createInstance, deleteInstances, firstOrThrow, getInstances} from '../src/api/index.js'
import type {Instance} from '../src/api/types.js'
import {STATE_FILE} from '../src/platform/index.js'
import {backendPort} from '../src/platform/runtime/index.js'
import {privateNetworkLines} from './platform-private.js'

const SAMPLES = 10
const THROUGHPUT_MS = 2000
const WARM_UP_MS = 500
/** Direct and gateway runs alternate this many times; the medians are compared. */
const ROUNDS = 3
const CONCURRENCY = 16
const IMAGE = 'ukc/hello'

function p50(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor((sorted.length - 1) / 2)]
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out')
    await delay(20)
  }
}

/** Time from sending a request to the first byte of the answer. */
function firstByte(request: () => http.ClientRequest): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now()
    const req = request()
    req.on('response', (res) => {
      res.once('data', () => resolve(performance.now() - start))
      res.resume()
    })
    req.on('error', reject)
    req.end()
  })
}

/** Requests per second over `ms` with CONCURRENCY keep-alive node clients (http.get in a loop). */
async function clientThroughput(send: () => Promise<void>, ms: number): Promise<number> {
  const end = performance.now() + ms
  let done = 0
  await Promise.all(
    Array.from({length: CONCURRENCY}, async () => {
      while (performance.now() < end) {
        await send()
        done++
      }
    }),
  )
  return done / (ms / 1000)
}

function get(lib: typeof http | typeof https, options: https.RequestOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    lib
      .get(options, (res) => {
        res.resume()
        res.on('end', () => resolve())
      })
      .on('error', reject)
  })
}

/**
 * Requests per second over `ms` with CONCURRENCY keep-alive connections, each sending a fixed GET as
 * soon as the previous answer is complete. The same raw-socket client (answers framed by
 * Content-Length, as the hello image sends them) measures both sides, so its own cost does not
 * drown the difference between them.
 */
async function throughput(connect: () => net.Socket, request: Buffer, ms: number): Promise<number> {
  let done = 0
  const end = performance.now() + ms
  await Promise.all(
    Array.from(
      {length: CONCURRENCY},
      () =>
        new Promise<void>((resolve, reject) => {
          const socket = connect()
          let buffered: Buffer = Buffer.alloc(0)
          socket.setNoDelay(true)
          socket.on('error', reject)
          socket.on('close', () => resolve())
          socket.on('data', (chunk: Buffer) => {
            buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk])
            for (;;) {
              const head = buffered.indexOf('\r\n\r\n')
              if (head < 0) return
              const length = /\r\ncontent-length: *(\d+)/i.exec(buffered.toString('latin1', 0, head))
              if (!length) return reject(new Error(`unframed answer: ${buffered.toString('latin1', 0, head)}`))
              const size = head + 4 + Number(length[1])
              if (buffered.length < size) return
              if (!buffered.toString('latin1', 0, 12).startsWith('HTTP/1.1 200')) return reject(new Error(buffered.toString('latin1', 0, head)))
              buffered = buffered.subarray(size)
              done++
              if (performance.now() < end) socket.write(request)
              else return socket.end()
            }
          })
          socket.write(request)
        }),
    ),
  )
  return done / (ms / 1000)
}

/** CPU time (user + system, ms) a process used so far, from /proc; undefined where there is no /proc. */
function cpuMs(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks()
  } catch {
    return undefined
  }
}

let ticks: number | undefined
function clockTicks(): number {
  ticks ??= Number(execFileSync('getconf', ['CLK_TCK'], {encoding: 'utf8'}).trim()) || 100
  return ticks
}

type Control = typeof import('../src/local/control.js')

/** The compiled daemon when there is one (what users run), else the sources through tsx. */
async function control(): Promise<Control> {
  const compiled = path.resolve('dist/local/control.js')
  if (fs.existsSync(compiled)) return (await import(pathToFileURL(compiled).href)) as Control
  process.stderr.write('note: dist/ is missing; the platform and built-in images run through tsx (run `npm run build` first)\n')
  return import('../src/local/control.js')
}

async function main(): Promise<void> {
  const {ensurePlatform, stopPlatform} = await control()
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-bench-platform-'))
  fs.chmodSync(dataDir, 0o755)
  // The platform runs as its own daemon process, as for users: the gateway does not share a CPU
  // thread with this benchmark's clients.
  const info = await ensurePlatform({dataDir, apiPort: 0, gatewayPort: 0, users: ['bench']})
  const ca = fs.readFileSync(info.ca, 'utf8')
  const client = new UkcClient({baseUrl: info.url, token: info.users[0].token, ca})
  const lines: string[] = []
  const only = process.argv[2]
  const runs = (part: 'private' | 'boot' | 'standby' | 'gateway'): boolean => only === undefined || only === part
  try {
    if (runs('private')) lines.push(...(await privateNetworkLines(client, dataDir)))
    // ---- create → running
    const boots: number[] = []
    for (let i = 0; i < (runs('boot') ? SAMPLES : 0); i++) {
      const start = performance.now()
      const created = firstOrThrow(await createInstance(client, {image: IMAGE, autostart: true, wait_timeout_ms: 10_000}))
      boots.push(performance.now() - start)
      await deleteInstances(client, [created.uuid])
    }
    if (boots.length > 0) lines.push(`create → running p50:           ${p50(boots).toFixed(1)} ms   (goal ≤ 150 ms, ${SAMPLES} samples)`)

    // ---- standby → first byte, through the private endpoint
    for (const stateful of runs('standby') ? [true, false] : []) {
      const instance = firstOrThrow(
        await createInstance(client, {image: IMAGE, autostart: true, wait_timeout_ms: 10_000, scale_to_zero: {policy: 'on', cooldown_time_ms: 100, stateful}}),
      )
      const state = async () => firstOrThrow(await getInstances(client, [instance.uuid])).state
      const wakes: number[] = []
      for (let i = 0; i < SAMPLES; i++) {
        await until(async () => (await state()) === 'standby', 10_000)
        wakes.push(await firstByte(() => http.request({host: instance.private_ip, port: 8080, localAddress: '127.0.0.1', agent: false})))
      }
      await deleteInstances(client, [instance.uuid])
      const goal = stateful ? '(goal ≤ 10 ms)' : ''
      lines.push(`standby → first byte p50 (${stateful ? 'stateful' : 'stateless'}): ${p50(wakes).toFixed(1)} ms ${goal}`.trimEnd())
    }
    if (!runs('gateway')) return

    // ---- gateway HTTPS vs direct HTTP to the instance
    const web = firstOrThrow(
      await createInstance(client, {
        image: IMAGE,
        autostart: true,
        wait_timeout_ms: 10_000,
        service_group: {services: [{port: 443, destination_port: 8080, handlers: ['http', 'tls']}]},
      }),
    ) as Instance
    // The instance's own listener (backend address) is not part of the API: read it from the store file.
    const stored = JSON.parse(fs.readFileSync(path.join(dataDir, STATE_FILE), 'utf8')) as {instances: Array<{uuid: string; backend_ip: string}>}
    const record = stored.instances.find((i) => i.uuid === web.uuid)
    const fqdn = web.service_group?.domains?.[0]?.fqdn ?? ''
    const backend = {host: record?.backend_ip ?? '', port: backendPort(8080)}
    const gatewayPort = info.gateway.ports['443']!
    const directRequest = Buffer.from(`GET / HTTP/1.1\r\nHost: ${backend.host}:${backend.port}\r\n\r\n`, 'latin1')
    const gatewayRequest = Buffer.from(`GET / HTTP/1.1\r\nHost: ${fqdn}\r\n\r\n`, 'latin1')
    const runDirect = (ms: number) => throughput(() => net.connect(backend), directRequest, ms)
    // Session resumption as browsers do it: after the first handshake, clients resume.
    let session: Buffer | undefined
    const runGateway = (ms: number) =>
      throughput(
        () => {
          const socket = tls.connect({host: '127.0.0.1', port: gatewayPort, servername: fqdn, ca, session})
          socket.once('session', (ticket: Buffer) => (session = ticket))
          return socket
        },
        gatewayRequest,
        ms,
      )
    const directAgent = new http.Agent({keepAlive: true, maxSockets: CONCURRENCY})
    const gatewayAgent = new https.Agent({keepAlive: true, maxSockets: CONCURRENCY, ca, servername: fqdn})
    const clientDirect = (ms: number) => clientThroughput(() => get(http, {host: backend.host, port: backend.port, agent: directAgent}), ms)
    const clientGateway = (ms: number) =>
      clientThroughput(() => get(https, {host: '127.0.0.1', port: gatewayPort, servername: fqdn, headers: {host: fqdn}, agent: gatewayAgent}), ms)
    /** Warm-up, then direct and gateway alternating ROUNDS times: the medians, and the daemon's CPU µs per gateway request. */
    const compare = async (direct: (ms: number) => Promise<number>, gateway: (ms: number) => Promise<number>) => {
      await direct(WARM_UP_MS)
      await gateway(WARM_UP_MS)
      const directs: number[] = []
      const gateways: number[] = []
      const cpuPerRequest: number[] = []
      for (let round = 0; round < ROUNDS; round++) {
        directs.push(await direct(THROUGHPUT_MS))
        const before = cpuMs(info.pid)
        const rate = await gateway(THROUGHPUT_MS)
        const after = cpuMs(info.pid)
        gateways.push(rate)
        if (before !== undefined && after !== undefined) cpuPerRequest.push(((after - before) * 1000) / ((rate * THROUGHPUT_MS) / 1000))
      }
      return {direct: p50(directs), gateway: p50(gateways), cpu: cpuPerRequest.length > 0 ? `${p50(cpuPerRequest).toFixed(0)} µs` : 'n/a'}
    }
    const {direct, gateway, cpu: clientCpu} = await compare(clientDirect, clientGateway)
    directAgent.destroy()
    gatewayAgent.destroy()
    const raw = await compare(runDirect, runGateway)
    lines.push(`direct HTTP req/s:              ${direct.toFixed(0)}`)
    lines.push(`gateway HTTPS req/s:            ${gateway.toFixed(0)}`)
    lines.push(`gateway / direct:               ${(gateway / direct).toFixed(2)}   (goal ≥ 0.5; ${CONCURRENCY} keep-alive node clients, median of ${ROUNDS} alternating ${THROUGHPUT_MS} ms rounds)`)
    // The same comparison with a client that costs almost nothing: the instance, not the client, bounds direct.
    lines.push(`raw-socket client: direct ${raw.direct.toFixed(0)} req/s, gateway ${raw.gateway.toFixed(0)} req/s, ratio ${(raw.gateway / raw.direct).toFixed(2)}   (raw keep-alive sockets, same concurrency)`)
    lines.push(`daemon CPU per gateway request: ${clientCpu} (node clients), ${raw.cpu} (raw-socket client)   (median of the gateway rounds)`)
  } finally {
    await stopPlatform(dataDir)
    fs.rmSync(dataDir, {recursive: true, force: true})
    process.stdout.write(`${lines.join('\n')}\n`) // what was measured, also when a later part failed
  }
}

await main()
