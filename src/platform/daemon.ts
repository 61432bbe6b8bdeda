// The platform daemon: store, CA, volumes, runtime, gateway and API in one process. runPlatform()
// brings them up in order (recovering from a crash of the previous daemon), writes platform.json for
// the CLI, and returns a handle whose close() stops instances gracefully and keeps all state.
import fs from 'node:fs'
import path from 'node:path'

import {ApiServer, type ApiContext} from './api/index.js'
import {acquireLock} from './daemon-lock.js'
import {Gateway} from './gateway/index.js'
import {INFO_FILE, type PlatformInfo} from '../local/info.js'
import {selfIdentity} from '../local/liveness.js'
import {assertInstanceAccess} from './instance-access.js'
import {isolateTenants} from './isolation/index.js'
import {InstanceMeters, TrafficMeter} from './metrics/index.js'
import {Runtime} from './runtime/index.js'
import {killStaleProcess} from './runtime/stale-process.js'
import {Store, USER_NAME, writeFileDurably} from './store/index.js'
import {CertificateAuthority} from './tls/index.js'
import type {Logger} from './types.js'
import {InstanceVolumes, type VolumeBackend, VolumeStorage} from './volumes/index.js'

export const DEFAULTS = {apiPort: 7780, httpsPort: 7443, httpPort: 7080, host: '127.0.0.1', domain: 'local.localhost', user: 'local'} as const

export interface PlatformOptions {
  dataDir: string
  /** 0 = a free port. */
  apiPort?: number
  /** Where public 443 is served; 0 = a free port. */
  gatewayPort?: number
  /** Where public 80 is served; defaults to 7080, or a free port when gatewayPort was given. */
  httpPort?: number
  /** Users to have (created with a fresh token when new); with none and an empty store, `local`. */
  users?: string[]
  log?: Logger
  /** How volumes are stored (default `auto`: ext4 images when root, else directories; tests force one). */
  volumeBackend?: 'auto' | VolumeBackend
  /** The machine-wide uid registry (default /var/lib/ukc/uid-blocks; tests of the registry use their own). */
  uidRegistry?: string
  /** How often the autoscaler decides (default 500 ms; tests shorten it). */
  autoscaleTickMs?: number
}

export interface RunningPlatform {
  info: PlatformInfo
  store: Store
  runtime: Runtime
  gateway: Gateway
  api: ApiServer
  volumes: VolumeStorage
  /** Stops instances gracefully (keeping `desired`), closes every listener, removes platform.json. */
  close(): Promise<void>
}

function writeInfo(dataDir: string, info: PlatformInfo): Promise<void> {
  return writeFileDurably(path.join(dataDir, INFO_FILE), `${JSON.stringify(info, null, 2)}\n`, 0o600)
}

/** After kill -9 of the previous daemon: kill its leftover instance processes, mark them stopped. */
async function recover(store: Store, log: Logger): Promise<void> {
  const stale = store.listInstances().filter((i) => i.pid !== undefined || i.state !== 'stopped')
  await Promise.all(
    stale.map(async (record) => {
      await killStaleProcess(record.pid, record.uuid)
      await store.updateInstance(record.uuid, {state: 'stopped', pid: undefined})
    }),
  )
  if (stale.length > 0) log(`recovered ${stale.length} instance(s) left by the previous daemon`)
}

export async function runPlatform(options: PlatformOptions): Promise<RunningPlatform> {
  const log: Logger = options.log ?? ((line) => process.stdout.write(`${new Date().toISOString()} ${line}\n`))
  const dataDir = path.resolve(options.dataDir)
  for (const name of options.users ?? []) {
    if (!USER_NAME.test(name)) throw new Error(`invalid user name "${name}" (lower-case letters, digits and dashes)`)
  }
  // Refused before anything is created; checked again below once every directory exists.
  assertInstanceAccess(dataDir, (options.users?.length ? options.users : [DEFAULTS.user]).map((name) => ({name})))
  // Parents made here must stay traversable for unprivileged instance processes; the data dir
  // itself is private (the runtime lets others pass through it, not list it).
  fs.mkdirSync(path.dirname(dataDir), {recursive: true, mode: 0o755})
  fs.mkdirSync(dataDir, {recursive: true, mode: 0o700})
  const release = acquireLock(dataDir)
  const closers: Array<() => Promise<void> | void> = [release]
  const closeAll = async () => {
    for (const close of closers.reverse()) await close()
  }
  try {
    const store = new Store(dataDir)
    const wanted = options.users?.length ? options.users : store.listUsers().length === 0 ? [DEFAULTS.user] : []
    await store.ensureUsers([...new Set(wanted)])
    // Per-user uids and the kernel's rules for the private network, before any instance runs.
    const isolation = await isolateTenants({dataDir, users: store.listUsers().length, registry: options.uidRegistry})
    closers.push(() => isolation.close())
    for (const limit of isolation.limits) log(`isolation: ${limit}`)
    assertInstanceAccess(dataDir, store.listUsers().map((user) => ({...user, uids: isolation.uids})))
    await recover(store, log)

    // Volumes: what a killed daemon left mounted is unmounted first; closed after the instances stop.
    const volumes = new VolumeStorage({dataDir, log, backend: options.volumeBackend, onViolation: (uuid, message) => instanceVolumes.violation(uuid, message)})
    await volumes.recover(new Set(store.listVolumes().map((v) => v.uuid)))
    closers.push(() => volumes.close())
    const instanceVolumes = new InstanceVolumes({
      store,
      storage: volumes,
      log,
      stopInstance: async (uuid, why) => {
        runtime.note(uuid, why)
        await store.updateInstance(uuid, {desired: 'stopped'})
        await runtime.stop(uuid, {force: false, drainTimeoutMs: 0, reason: 'platform'})
      },
    })

    const ca = await CertificateAuthority.loadOrCreate(dataDir, {domain: DEFAULTS.domain})
    let onStopped = (_uuid: string): void => {}
    const traffic = new TrafficMeter()
    const meters = new InstanceMeters({
      connections: (uuid) => runtime.connectionStats(uuid),
      gatewayLoad: (uuid) => gateway.load(uuid),
      gatewayRequests: (uuid) => gateway.requests(uuid),
      traffic,
    })
    const runtime = new Runtime({
      dataDir,
      log,
      get: (uuid) => store.instance(uuid),
      list: () => store.listInstances(),
      user: (uuid) => store.user(uuid),
      update: (uuid, patch) => {
        // An instance leaving a state (e.g. running → standby or draining) still has its processes:
        // read their CPU time now, so that the run's total is kept (metrics/instance-meters.ts).
        const record = store.instance(uuid)
        if (record && patch.state !== undefined && patch.state !== record.state) meters.cpuMs(record)
        return store.updateInstance(uuid, patch)
      },
      onStopped: (uuid) => onStopped(uuid),
      mountVolumes: (record, runAs) => instanceVolumes.mount(record, runAs),
      uids: isolation.uids,
      firewall: isolation.firewall,
      traffic,
    })
    closers.push(() => runtime.shutdown())
    for (const user of store.listUsers()) runtime.refreshNames(user.uuid)

    const gatewayPort = options.gatewayPort ?? DEFAULTS.httpsPort
    const httpPort = options.httpPort ?? (options.gatewayPort === undefined ? DEFAULTS.httpPort : 0)
    const gateway = new Gateway({
      host: DEFAULTS.host,
      domain: DEFAULTS.domain,
      ca,
      httpsPort: gatewayPort,
      httpPort,
      routes: store,
      tracker: runtime,
      log,
      // Users' certificates (uploaded, or issued for their custom domains) are presented for their domains.
      userCertificate: (fqdn) => store.certificateFor(fqdn),
    })
    await gateway.start()
    closers.push(() => gateway.close())
    for (const service of store.listServices()) {
      for (const s of service.services) if (s.port !== 443 && s.port !== 80) await gateway.ensurePort(s.port)
    }

    let info: PlatformInfo | undefined
    const ctx: ApiContext = {
      store,
      runtime,
      volumes,
      domain: DEFAULTS.domain,
      log,
      issueCertificate: (fqdn) => ca.mint(fqdn),
      meters,
      autoscaleTickMs: options.autoscaleTickMs,
      publish: async (ports) => {
        for (const port of ports) await gateway.ensurePort(port)
        if (info && ports.length > 0) {
          info = {...info, gateway: {host: DEFAULTS.host, ports: gateway.ports()}}
          await writeInfo(dataDir, info)
        }
      },
    }
    const api = new ApiServer(ctx, {host: DEFAULTS.host, port: options.apiPort ?? DEFAULTS.apiPort, tls: await ca.issue(['127.0.0.1', 'localhost', '::1'])})
    await api.start()
    closers.push(() => api.close())
    onStopped = (uuid) => api.router.instances.onStopped(uuid)

    info = {
      url: api.url,
      metro: 'local',
      pid: process.pid,
      pidStart: selfIdentity().start,
      ca: ca.certPath,
      dataDir,
      domain: DEFAULTS.domain,
      gateway: {host: DEFAULTS.host, ports: gateway.ports()},
      users: store.listUsers().map((u) => ({name: u.name, token: u.token})),
      startedAt: new Date().toISOString(),
      ...(isolation.limits.length > 0 ? {limits: isolation.limits} : {}),
    }
    await writeInfo(dataDir, info)
    closers.push(() => fs.rmSync(path.join(dataDir, INFO_FILE), {force: true}))
    log(`platform up: API ${info.url}, gateway ${JSON.stringify(info.gateway.ports)}, users ${info.users.map((u) => u.name).join(', ')}`)

    // Bring back what should run (after a stop, a crash or kill -9), on volumes that exist; clones
    // whose autoscale configuration is gone go first.
    await api.router.volumes.restore()
    await api.router.autoscaler.restore()
    api.router.instances.restore()

    let closing: Promise<void> | undefined
    const running: RunningPlatform = {
      get info() {
        return info as PlatformInfo
      },
      store,
      runtime,
      gateway,
      api,
      volumes,
      close: () => {
        closing ??= (async () => {
          log('platform stopping')
          // API first (no new work), then instances, then the gateway; platform.json and the lock last.
          await api.close()
          await runtime.shutdown()
          await volumes.close()
          await gateway.close()
          await isolation.close()
          await store.flush()
          fs.rmSync(path.join(dataDir, INFO_FILE), {force: true})
          release()
          log('platform stopped')
        })()
        return closing
      },
    }
    return running
  } catch (error) {
    await closeAll().catch(() => {})
    throw error
  }
}
