// `node --import tsx bench/isolation.ts` (as root, with nft): what tenant isolation costs, measured in
// one run against anchors beside it.
//   admission p50 / node start p50      an instance's addresses are admitted in parallel with its boot;
//                                        goal < 1: hidden behind even the cheapest boot (a node process)
//   new connections/s, instance uid / host uid   each new loopback connection of an instance uid is
//                                        checked against the table; goal ≥ 0.9
// Bounded: fixed sample counts and a fixed duration per connection-rate run (alternating, 3 rounds).
import {spawn} from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

import {claimUidBlock, LoopbackFirewall, releaseUidBlock} from '../src/platform/isolation/index.js'

const SAMPLES = 20
const RATE_MS = 2000
const ROUNDS = 3
const NOBODY = 65_534

function p50(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor((sorted.length - 1) / 2)] as number
}

/** Runs `script` with node as `uid`; resolves with its stdout once it exits. */
function runAs(uid: number, script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], {uid, gid: uid, stdio: ['ignore', 'pipe', 'inherit']})
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
    child.once('error', reject)
    child.once('close', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`exit ${code}`))))
  })
}

/** New TCP connections per second that a process of `uid` opens to host:port, one after another. */
async function connectionRate(uid: number, host: string, port: number): Promise<number> {
  const script = `const net = require('net'); const end = Date.now() + ${RATE_MS}; let n = 0
    const next = () => { if (Date.now() >= end) { console.log(n); return }
      net.connect({host: ${JSON.stringify(host)}, port: ${port}}).on('connect', function () { n++; this.destroy(); next() }).on('error', (e) => { console.error(e.code); process.exit(1) }) }
    next()`
  return Number(await runAs(uid, script)) / (RATE_MS / 1000)
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    // Not a failure of `npm run bench`: without root there are no per-user uids to measure.
    console.log('bench:isolation skipped: run as root (isolation needs per-user uids and nft)')
    return
  }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-bench-isolation-'))
  const block = await claimUidBlock(dataDir)
  const firewall = await LoopbackFirewall.install(block)
  const address = `127.200.${crypto.randomInt(1, 255)}.${crypto.randomInt(1, 255)}`
  const server = await new Promise<net.Server>((resolve) => {
    const s = net.createServer((socket) => socket.destroy()).listen(0, address, () => resolve(s))
  })
  const port = (server.address() as net.AddressInfo).port
  const instanceUid = block.first + 1
  try {
    const admissions: number[] = []
    const nodeStarts: number[] = []
    for (let i = 0; i < SAMPLES; i++) {
      let start = performance.now()
      await firewall.admit(`bench-${i}`, {uid: instanceUid, addresses: [address, `127.201.0.${i + 1}`]})
      admissions.push(performance.now() - start)
      start = performance.now()
      await runAs(NOBODY, '')
      nodeStarts.push(performance.now() - start)
    }
    const admission = p50(admissions)
    const nodeStart = p50(nodeStarts)
    console.log(`admission p50:                  ${admission.toFixed(1)} ms   node start p50: ${nodeStart.toFixed(1)} ms   ratio ${(admission / nodeStart).toFixed(2)} (goal < 1)`)

    const instanceRates: number[] = []
    const hostRates: number[] = []
    for (let round = 0; round < ROUNDS; round++) {
      instanceRates.push(await connectionRate(instanceUid, address, port))
      hostRates.push(await connectionRate(NOBODY, address, port))
    }
    const instance = p50(instanceRates)
    const host = p50(hostRates)
    console.log(`new connections/s: instance uid ${instance.toFixed(0)}, host uid ${host.toFixed(0)}, ratio ${(instance / host).toFixed(2)} (goal ≥ 0.9; median of ${ROUNDS} alternating ${RATE_MS} ms rounds)`)
  } finally {
    server.close()
    await firewall.remove()
    await releaseUidBlock(dataDir)
    fs.rmSync(dataDir, {recursive: true, force: true})
  }
}

await main()
