// A fake store for runtime tests: records in a Map, the same IP plan as the real store
// (private 127.(16+u).x.y, backend 127.(32+u).x.y), and a Runtime wired to it in a temp dir. As root
// it claims a uid block from the machine's registry, like the daemon (per-user instance uids), and
// gives it back on close.
import crypto from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import {setTimeout as delay} from 'node:timers/promises'

import {claimUidBlock, releaseUidBlock, type UidBlock} from '../../src/platform/isolation/index.js'
import {findBinary} from '../../src/platform/runtime/host-binaries.js'
import {Runtime, type RuntimeOptions, type RuntimeTimings} from '../../src/platform/runtime/index.js'
import {PostgresServers} from '../../src/platform/runtime/servers/postgres-servers.js'
import type {InstanceRecord, UserRecord} from '../../src/platform/types.js'

/**
 * Instance addresses, never reused in a process and starting at a random point per process: a test
 * whose previous fixture's endpoints are still closing, or another test file running beside it with
 * the same user index, gets other addresses (EADDRINUSE on 127.27.0.1:5432 under load otherwise).
 */
let lastAddress = crypto.randomInt(0, 60_000)
function nextAddress(): number {
  lastAddress += 1
  if ((lastAddress & 255) === 0 || (lastAddress & 255) === 255) lastAddress += 2
  return lastAddress
}

export class RuntimeFixture {
  readonly records = new Map<string, InstanceRecord>()
  readonly users = new Map<string, UserRecord>()
  readonly stopped: string[] = []
  readonly lines: string[] = []
  readonly runtime: Runtime

  private constructor(
    readonly dataDir: string,
    private readonly uids: UidBlock | undefined,
    private readonly timings?: Partial<RuntimeTimings>,
    private readonly extra: Pick<RuntimeOptions, 'projectRoot'> = {},
  ) {
    this.runtime = new Runtime(this.options())
  }

  static async create(timings?: Partial<RuntimeTimings>, extra: Pick<RuntimeOptions, 'projectRoot'> = {}): Promise<RuntimeFixture> {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-runtime-'))
    const uids = process.getuid?.() === 0 ? await claimUidBlock(dataDir) : undefined
    return new RuntimeFixture(dataDir, uids, timings, extra)
  }

  /** Runtime options backed by this fixture's maps (a second Runtime may share them). */
  options(): RuntimeOptions {
    return {
      dataDir: this.dataDir,
      log: (line) => this.lines.push(line),
      get: (uuid) => this.records.get(uuid),
      list: () => [...this.records.values()],
      user: (uuid) => this.users.get(uuid),
      update: async (uuid, patch) => {
        const record = this.records.get(uuid)
        if (!record) return undefined
        const next = {...record, ...patch}
        this.records.set(uuid, next)
        return next
      },
      onStopped: (uuid) => this.stopped.push(uuid),
      timings: this.timings,
      uids: this.uids,
      ...this.extra,
    }
  }

  user(name: string, index: number): UserRecord {
    const user = {uuid: `user-${name}`, name, index, token: `token-${name}`}
    this.users.set(user.uuid, user)
    return user
  }

  instance(user: UserRecord, image: string, overrides: Partial<InstanceRecord> = {}): InstanceRecord {
    const n = nextAddress()
    const uuid = `00000000-0000-4000-8000-${String(user.index).padStart(4, '0')}${String(n).padStart(8, '0')}`
    const record: InstanceRecord = {
      uuid,
      name: `${image.replace(/[^a-z0-9]+/g, '-')}-${n}`,
      user: user.uuid,
      image,
      args: [],
      env: {},
      memory_mb: 128,
      vcpus: 1,
      restart_policy: 'never',
      scale_to_zero: {policy: 'off'},
      features: [],
      private_ip: `127.${16 + user.index}.${n >> 8}.${n & 255}`,
      backend_ip: `127.${32 + user.index}.${n >> 8}.${n & 255}`,
      ports: [],
      volumes: [],
      state: 'stopped',
      desired: 'stopped',
      created_at: new Date().toISOString(),
      start_count: 0,
      restart_count: 0,
      restart_attempt: 0,
      ...overrides,
    }
    this.records.set(uuid, record)
    this.runtime.refreshNames(user.uuid)
    return record
  }

  get(uuid: string): InstanceRecord {
    const record = this.records.get(uuid)
    if (!record) throw new Error(`no record ${uuid}`)
    return record
  }

  /** Polls `condition` until it holds or `timeoutMs` passes (then throws with `what`). */
  until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
    return until(what, condition, timeoutMs)
  }

  async close(): Promise<void> {
    await this.runtime.shutdown()
    await releaseUidBlock(this.dataDir)
    fs.rmSync(this.dataDir, {recursive: true, force: true})
  }
}

/** One HTTP/1.1 GET over a fresh connection (no agent); resolves with status and body. */
export function httpGet(host: string, port: number, pathname = '/'): Promise<{status: number; body: string}> {
  return new Promise((resolve, reject) => {
    const request = http.get({host, port, path: pathname, agent: false}, (response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('end', () => resolve({status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString()}))
      response.on('error', reject)
    })
    request.on('error', reject)
  })
}

/** Polls `condition` every 5 ms until it holds or `timeoutMs` passes (then throws with `what`). */
export async function until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await delay(5)
  }
}

/**
 * A test's skip reason when host binary `name` is missing (`{skip: missingBinary('nginx')}`), else
 * false. `postgres` may also come from npm: missing only when neither source has it.
 */
export function missingBinary(name: string): string | false {
  if (name === 'postgres') {
    try {
      new PostgresServers(path.join(os.tmpdir(), 'ukc-unused')).check('postgres')
      return false
    } catch (error) {
      return (error as Error).message
    }
  }
  return findBinary(name) ? false : `the "${name}" binary is not installed`
}
