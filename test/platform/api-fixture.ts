// An in-process API server over a real store in a temp dir, with a fake runtime: instances "run"
// as soon as they are started. Lets the API tests run without child processes. Volumes are real
// (plain directories in the temp dir).
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'

import type {Image, InstanceState} from '../../src/api/types.js'
import {ApiServer, type InstanceMeterReader, type InstanceRuntime} from '../../src/platform/api/index.js'
import type {MeterReading} from '../../src/platform/metrics/index.js'
import {Store} from '../../src/platform/store/index.js'
import {CertificateAuthority} from '../../src/platform/tls/index.js'
import type {InstanceRecord, UserRecord} from '../../src/platform/types.js'
import {VolumeStorage} from '../../src/platform/volumes/index.js'

const IMAGES: Array<Image & {ports: number[]}> = [
  {digest: 'ukc/hello@sha256:1111', tags: ['ukc/hello:latest'], ports: [8080]},
  {digest: 'ukc/echo@sha256:2222', tags: ['ukc/echo:latest'], ports: [7]},
]

export class FakeRuntime implements InstanceRuntime {
  readonly started: string[] = []
  readonly removed: string[] = []
  onStopped: (uuid: string) => void = () => {}

  constructor(private readonly store: Store) {}

  readonly catalog = {
    list: (): Image[] => IMAGES.map(({ports: _ports, ...image}) => image),
    resolve: (ref: string) => {
      const tag = ref.includes(':') ? ref : `${ref}:latest`
      const image = IMAGES.find((i) => i.tags?.includes(tag))
      if (!image) throw new Error(`no image with name: ${ref}`)
      return {ports: image.ports, digest: image.digest}
    },
  }

  async start(uuid: string): Promise<void> {
    this.started.push(uuid)
    const record = this.store.instance(uuid)
    await this.store.updateInstance(uuid, {state: 'running', started_at: new Date().toISOString(), start_count: (record?.start_count ?? 0) + 1, boot_time_us: 1234})
  }

  async stop(uuid: string): Promise<void> {
    await this.store.updateInstance(uuid, {state: 'stopped', stopped_at: new Date().toISOString(), stop_reason: 15})
    this.onStopped(uuid)
  }

  async remove(uuid: string): Promise<void> {
    this.removed.push(uuid)
  }

  async waitFor(uuid: string, _state: InstanceState): Promise<InstanceState> {
    return this.store.instance(uuid)?.state ?? 'stopped'
  }

  logs(_uuid: string, offset: number, limit: number) {
    const all = Buffer.from('hello from the console\n')
    const start = offset < 0 ? Math.max(0, all.length + offset) : Math.min(offset, all.length)
    const end = Math.min(all.length, start + limit)
    return {output: all.subarray(start, end), range: {start, end}, available: {start: 0, end: all.length}}
  }

  refreshNames(): void {}
}

/** Measurements the tests set: in-flight counts per instance (the autoscaler's inflight_reqs), CPU time. */
export class FakeMeters implements InstanceMeterReader {
  readonly inflightOf = new Map<string, number>()
  readonly cpuOf = new Map<string, number>()
  readonly forgotten: string[] = []

  read(record: InstanceRecord): MeterReading {
    return {cpu_time_ms: this.cpuMs(record), rss_bytes: 0, rx_bytes: 0, tx_bytes: 0, nconns: 0, nreqs: this.inflight(record.uuid), nqueued: 0, ntotal: 0}
  }

  cpuMs(record: InstanceRecord): number {
    return this.cpuOf.get(record.uuid) ?? 0
  }

  inflight(uuid: string): number {
    return this.inflightOf.get(uuid) ?? 0
  }

  forget(uuid: string): void {
    this.forgotten.push(uuid)
  }
}

export interface Reply {
  status: number
  body: {status: string; message?: string; data?: Record<string, Array<Record<string, unknown>>>}
}

export class ApiFixture {
  readonly dir: string
  readonly store: Store
  readonly runtime: FakeRuntime
  readonly meters = new FakeMeters()
  readonly server: ApiServer
  readonly volumes: VolumeStorage
  readonly published: number[] = []
  readonly logs: string[] = []
  users: UserRecord[] = []
  private port = 0
  private authority?: Promise<CertificateAuthority>

  constructor() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-api-'))
    this.store = new Store(this.dir)
    this.runtime = new FakeRuntime(this.store)
    this.volumes = new VolumeStorage({dataDir: this.dir, backend: 'directory', log: (line) => this.logs.push(line)})
    this.server = new ApiServer(
      {
        store: this.store,
        runtime: this.runtime,
        volumes: this.volumes,
        meters: this.meters,
        autoscaleTickMs: 10,
        domain: 'local.localhost',
        log: (line) => this.logs.push(line),
        publish: async (ports) => {
          this.published.push(...ports)
        },
        issueCertificate: async (fqdn) => (await this.ca()).mint(fqdn),
      },
      {host: '127.0.0.1', port: 0},
    )
    this.runtime.onStopped = (uuid) => this.server.router.instances.onStopped(uuid)
  }

  async start(users = ['alice', 'bob']): Promise<void> {
    this.users = await this.store.ensureUsers(users)
    this.port = await this.server.start()
  }

  /** The platform CA (in the temp dir), made on first use: it issues the certificates of custom domains. */
  ca(): Promise<CertificateAuthority> {
    this.authority ??= CertificateAuthority.loadOrCreate(this.dir)
    return this.authority
  }

  /** The API's port on 127.0.0.1. */
  get apiPort(): number {
    return this.port
  }

  token(name: string): string {
    const user = this.users.find((u) => u.name === name)
    if (!user) throw new Error(`no user ${name}`)
    return user.token
  }

  /** One raw request (GET and DELETE with JSON bodies, as the real SDK sends them). */
  request(method: string, pathAndQuery: string, options: {token?: string; body?: unknown; as?: string} = {}): Promise<Reply> {
    const token = options.token ?? (options.as ? this.token(options.as) : undefined)
    const text = options.body === undefined ? undefined : JSON.stringify(options.body)
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: this.port,
          method,
          path: `/v1${pathAndQuery}`.replace(/^\/v1\/\//, '/'),
          headers: {
            ...(token ? {Authorization: `Bearer ${token}`} : {}),
            'Content-Type': 'application/json',
            ...(text === undefined ? {} : {'Content-Length': Buffer.byteLength(text)}),
          },
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => resolve({status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Reply['body']}))
        },
      )
      req.on('error', reject)
      req.end(text)
    })
  }

  async close(): Promise<void> {
    await this.server.close()
    await this.store.flush()
    await this.volumes.close()
    fs.rmSync(this.dir, {recursive: true, force: true})
  }
}
