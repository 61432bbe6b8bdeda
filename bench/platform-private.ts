// The private network's part of `npm run bench:platform`: a connection to an instance's private IP
// (what users and their instances use) against a connection to the instance's own socket (its
// backend address, the anchor) in the same run:
//   bulk   one connection through the built-in echo: BULK_BYTES sent and read back   goal ratio ≥ 0.9
//   pgbench -S (select-only) against postgres:latest, PGBENCH_CLIENTS clients        goal ratio ≥ 0.9
// Bounded: a warm-up per side, then ROUNDS alternating runs per side; the medians are compared.
import {execFile} from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import {promisify} from 'node:util'

import {type UkcClient, createInstance, deleteInstances, firstOrThrow} from '../src/api/index.js'
import {STATE_FILE} from '../src/platform/index.js'
import {findBinary} from '../src/platform/runtime/host-binaries.js'
import {backendPort} from '../src/platform/runtime/index.js'

const run = promisify(execFile)
const ROUNDS = 5
const BULK_BYTES = 256 * 1024 * 1024
const CHUNK = Buffer.alloc(1024 * 1024, 'x')
const PGBENCH_SECONDS = 3
const PGBENCH_CLIENTS = 8
/** Not a secret: a throw-away database of this run, on loopback. */
const PG_PASSWORD = 'bench-only'

interface Address {
  host: string
  port: number
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor((sorted.length - 1) / 2)]
}

/** GiB/s of BULK_BYTES written to an echo and read back on one connection. */
function bulk(to: Address): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now()
    const socket = net.connect(to)
    let sent = 0
    let received = 0
    const write = (): void => {
      while (sent < BULK_BYTES) {
        sent += CHUNK.length
        if (!socket.write(CHUNK)) return void socket.once('drain', write)
      }
      socket.end()
    }
    socket.on('connect', write)
    socket.on('data', (chunk: Buffer) => (received += chunk.length))
    socket.on('error', reject)
    socket.on('close', () => {
      if (received !== BULK_BYTES) return reject(new Error(`the echo returned ${received} of ${BULK_BYTES} bytes`))
      resolve(BULK_BYTES / 2 ** 30 / ((performance.now() - start) / 1000))
    })
  })
}

/** Warm-up, then `anchor` and `measured` alternating ROUNDS times: their medians. */
async function alternate(anchor: () => Promise<number>, measured: () => Promise<number>): Promise<{anchor: number; measured: number}> {
  await anchor()
  await measured()
  const anchors: number[] = []
  const measures: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    anchors.push(await anchor())
    measures.push(await measured())
  }
  return {anchor: median(anchors), measured: median(measures)}
}

/** The instance's own listener: not part of the API, read from the store file. */
function backendOf(dataDir: string, uuid: string, port: number): Address {
  const stored = JSON.parse(fs.readFileSync(path.join(dataDir, STATE_FILE), 'utf8')) as {instances: Array<{uuid: string; backend_ip: string}>}
  const host = stored.instances.find((i) => i.uuid === uuid)?.backend_ip
  if (!host) throw new Error(`instance ${uuid} has no backend address in the store`)
  return {host, port: backendPort(port)}
}

async function pgbench(binary: string, to: Address, args: string[]): Promise<string> {
  const {stdout} = await run(binary, ['-h', to.host, '-p', String(to.port), '-U', 'postgres', ...args, 'postgres'], {
    env: {...process.env, PGPASSWORD: PG_PASSWORD},
    maxBuffer: 1 << 24,
  })
  return stdout
}

async function selectTps(binary: string, to: Address): Promise<number> {
  const out = await pgbench(binary, to, ['-S', '-n', '-c', String(PGBENCH_CLIENTS), '-j', '2', '-T', String(PGBENCH_SECONDS)])
  const tps = /tps = ([\d.]+)/.exec(out)
  if (!tps) throw new Error(`pgbench printed no tps:\n${out}`)
  return Number(tps[1])
}

const ratio = (measured: number, anchor: number): string => `${(measured / anchor).toFixed(2)}   (goal ≥ 0.9; median of ${ROUNDS} alternating rounds)`

/** The private network's lines of the benchmark. */
export async function privateNetworkLines(client: UkcClient, dataDir: string): Promise<string[]> {
  const lines: string[] = []
  const echo = firstOrThrow(await createInstance(client, {image: 'echo', autostart: true, wait_timeout_ms: 10_000}))
  try {
    const privateAddress = {host: echo.private_ip ?? '', port: 9000}
    const own = backendOf(dataDir, echo.uuid, 9000)
    const {anchor, measured} = await alternate(() => bulk(own), () => bulk(privateAddress))
    lines.push(`bulk echo, own socket:          ${anchor.toFixed(2)} GiB/s   (one connection, ${BULK_BYTES / 2 ** 20} MiB each way)`)
    lines.push(`bulk echo, private IP:          ${measured.toFixed(2)} GiB/s`)
    lines.push(`bulk private / own:             ${ratio(measured, anchor)}`)
  } finally {
    await deleteInstances(client, [echo.uuid])
  }

  const binary = findBinary('pgbench')
  if (!binary) {
    lines.push('pgbench -S: skipped (no pgbench on this machine: apt-get install postgresql-client)')
    return lines
  }
  let db
  try {
    db = firstOrThrow(await createInstance(client, {image: 'postgres:latest', autostart: true, wait_timeout_ms: 120_000, env: {POSTGRES_PASSWORD: PG_PASSWORD}}))
  } catch (error) {
    lines.push(`pgbench -S: skipped (postgres:latest does not start here: ${(error as Error).message})`)
    return lines
  }
  try {
    const privateAddress = {host: db.private_ip ?? '', port: 5432}
    const own = backendOf(dataDir, db.uuid, 5432)
    await pgbench(binary, own, ['-i', '-q', '-s', '1'])
    const {anchor, measured} = await alternate(() => selectTps(binary, own), () => selectTps(binary, privateAddress))
    lines.push(`pgbench -S, own socket:         ${anchor.toFixed(0)} TPS   (${PGBENCH_CLIENTS} clients, ${PGBENCH_SECONDS} s per run)`)
    lines.push(`pgbench -S, private IP:         ${measured.toFixed(0)} TPS`)
    lines.push(`pgbench private / own:          ${ratio(measured, anchor)}`)
  } finally {
    await deleteInstances(client, [db.uuid])
  }
  return lines
}
