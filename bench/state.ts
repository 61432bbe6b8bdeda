// `npm run bench:state`: how long one user's state change (a start or stop is one durable store
// update) takes while another user holds 40 instances with large environments — the tenant-isolation
// question "can one user's bulk slow everyone else?". Anchor in the same run: the same update with no
// other instances present. Bounded: a fixed number of updates.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {Store} from '../src/platform/store/index.js'
import type {InstanceRecord} from '../src/platform/types.js'

const UPDATES = 30
const BULK = 40
const ENV_BYTES = Number(process.env.BENCH_ENV_BYTES ?? 1024 * 1024)

function record(user: string, uuid: string, addresses: {private_ip: string; backend_ip: string}, env: Record<string, string>): InstanceRecord {
  return {
    uuid, name: uuid, user, image: 'ukc/hello', args: [], env, memory_mb: 128, vcpus: 1, restart_policy: 'never',
    scale_to_zero: {policy: 'off'}, features: [], ...addresses, ports: [8080], volumes: [], state: 'stopped', desired: 'stopped',
    created_at: new Date().toISOString(), start_count: 0, restart_count: 0, restart_attempt: 0,
  }
}

function p50(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor((sorted.length - 1) / 2)] as number
}

async function updateLatency(bulk: number): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-bench-state-'))
  try {
    const store = new Store(dir)
    const [alice, bob] = await store.ensureUsers(['alice', 'bob'])
    const env = {BIG: 'x'.repeat(ENV_BYTES)}
    for (let i = 0; i < bulk; i++) store.setInstance(record(bob!.uuid, `bulk${i}`, store.allocateAddresses(bob!), env))
    store.setInstance(record(alice!.uuid, 'mine', store.allocateAddresses(alice!), {}))
    await store.flush()
    const times: number[] = []
    for (let i = 0; i < UPDATES; i++) {
      const started = performance.now()
      await store.updateInstance('mine', {state: i % 2 === 0 ? 'running' : 'stopped'})
      times.push(performance.now() - started)
    }
    return p50(times)
  } finally {
    fs.rmSync(dir, {recursive: true, force: true})
  }
}

const alone = await updateLatency(0)
const crowded = await updateLatency(BULK)
console.log(`state update p50, alone:                               ${alone.toFixed(2)} ms`)
console.log(`state update p50, another user has ${BULK} × ${(ENV_BYTES / 1024).toFixed(0)} KiB env: ${crowded.toFixed(2)} ms`)
console.log(`crowded / alone:                                       ${(crowded / alone).toFixed(2)}   (goal ≤ 2: one user's bulk does not slow the others)`)
