// The platform's durable state: users, instances, services, volumes, certificates. Reads come from
// memory; every change is applied in memory and then written crash-safely (StateFile) before the
// caller's promise resolves, so an acknowledged change survives kill -9. What an instance was created
// with and never changes (args, env: up to 64 KiB each) and a certificate's chain and private key
// live in files of their own (record-files.ts), so that the state file that every start, stop and
// state change rewrites stays small for every user, and holds no private key.
// (Longer than most files: it is the one owner of every record kind and of their indexes.)
// Longer than ~350 lines: one owner for every record kind's reads and changes, so that the
// write-before-acknowledge rule lives in one class.
import crypto from 'node:crypto'
import path from 'node:path'

import type {
  CertificateMaterial,
  CertificateRecord,
  GatewayRoute,
  InstanceRecord,
  InstanceVolume,
  RouteTable,
  ServiceRecord,
  UserRecord,
  VolumeRecord,
} from '../types.js'
import {RecordFiles} from './record-files.js'
import {StateFile} from './state-file.js'

export const STATE_FILE = 'state.json'
/** Instances' args and env, one file per instance. */
export const SPECS_DIR = 'specs'
/** Certificates' chains and private keys, one 0600 file per certificate. */
export const CERTIFICATES_DIR = 'certificates'
/** Private networks are 127.(16+index)…, backends 127.(32+index)…: 16 users fit below 127.32. */
export const MAX_USERS = 16
/** A local user's name: lower-case letters, digits and dashes, at most 32 characters. */
export const USER_NAME = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/
const MAX_SEQ = 65534

interface InstanceSpec {
  args: string[]
  env: Record<string, string>
}

interface StoredState {
  version: 1
  users: UserRecord[]
  /** Without args and env (in `specs/`); older state files have them inline. */
  instances: Array<Omit<InstanceRecord, 'args' | 'env'> & Partial<Pick<InstanceRecord, 'args' | 'env'>>>
  services: ServiceRecord[]
  /** Absent in state files written before volumes existed. */
  volumes?: VolumeRecord[]
  /** Without chain and key (in `certificates/`); absent in state files written before certificates existed. */
  certificates?: CertificateRecord[]
  /** Per user: the last private-address sequence number handed out. */
  seq: Record<string, number>
}

export class Store implements RouteTable {
  private readonly users = new Map<string, UserRecord>()
  private readonly byToken = new Map<string, UserRecord>()
  private readonly instances = new Map<string, InstanceRecord>()
  private readonly services = new Map<string, ServiceRecord>()
  private readonly volumes = new Map<string, VolumeRecord>()
  private readonly certificates = new Map<string, CertificateRecord>()
  /** Chain and key per certificate, the same object for as long as the certificate exists (the gateway caches by it). */
  private readonly material = new Map<string, CertificateMaterial>()
  private readonly byDomain = new Map<string, string>()
  /** Service → attached instance uuids (an instance's service never changes after create). */
  private readonly attached = new Map<string, Set<string>>()
  private readonly seq: Record<string, number> = {}
  private readonly file: StateFile<StoredState>
  private readonly specs: RecordFiles<InstanceSpec>
  private readonly keys: RecordFiles<CertificateMaterial>

  constructor(readonly dataDir: string) {
    this.specs = new RecordFiles<InstanceSpec>(dataDir, SPECS_DIR, (saved, now) => saved.args === now.args && saved.env === now.env)
    this.keys = new RecordFiles<CertificateMaterial>(dataDir, CERTIFICATES_DIR)
    this.file = new StateFile(path.join(dataDir, STATE_FILE), () => ({
      version: 1,
      users: [...this.users.values()],
      instances: [...this.instances.values()].map(({args: _args, env: _env, ...rest}) => rest),
      services: [...this.services.values()],
      volumes: [...this.volumes.values()],
      certificates: [...this.certificates.values()],
      seq: this.seq,
    }))
    const stored = this.file.read()
    for (const user of stored?.users ?? []) this.putUser(user)
    for (const instance of stored?.instances ?? []) {
      // Inline args/env (an older state file) are moved out by the next flush.
      const spec = instance.args !== undefined || instance.env !== undefined ? undefined : this.specs.read(instance.uuid)
      this.setInstance({...instance, args: instance.args ?? spec?.args ?? [], env: instance.env ?? spec?.env ?? {}})
      const record = this.instances.get(instance.uuid) as InstanceRecord
      if (spec) this.specs.loaded(instance.uuid, {args: record.args, env: record.env})
    }
    for (const service of stored?.services ?? []) this.setService(service)
    for (const volume of stored?.volumes ?? []) this.setVolume(volume)
    for (const certificate of stored?.certificates ?? []) {
      const material = this.keys.read(certificate.uuid)
      // Never expected (the file is durable before the state file names the record); a record
      // without its key cannot be served, so it is dropped rather than kept half.
      if (typeof material?.cert !== 'string' || typeof material.key !== 'string') continue
      const pair = {cert: material.cert, key: material.key}
      this.setCertificate(certificate, pair)
      this.keys.loaded(certificate.uuid, pair)
    }
    Object.assign(this.seq, stored?.seq ?? {})
    this.specs.dropStray(new Set(this.instances.keys()))
    this.keys.dropStray(new Set(this.certificates.keys()))
  }

  /**
   * Writes the current state durably: new instances' specs and new certificates' keys first (a state
   * file never names a record whose file is not on disk), then the state file, then the files of
   * removed records go.
   */
  async flush(): Promise<void> {
    await Promise.all([
      this.specs.save([...this.instances.values()].map((i): [string, InstanceSpec] => [i.uuid, {args: i.args, env: i.env}])),
      this.keys.save(this.material.entries()),
    ])
    await this.file.save()
    this.specs.forget(new Set(this.instances.keys()))
    this.keys.forget(new Set(this.certificates.keys()))
  }

  // ---- users

  listUsers(): UserRecord[] {
    return [...this.users.values()].sort((a, b) => a.index - b.index)
  }

  user(uuid: string): UserRecord | undefined {
    return this.users.get(uuid)
  }

  userByToken(token: string): UserRecord | undefined {
    return this.byToken.get(token)
  }

  /** The named users exist afterwards (new ones get a fresh token); returns them in order. */
  async ensureUsers(names: string[]): Promise<UserRecord[]> {
    const result: UserRecord[] = []
    for (const name of names) {
      let user = [...this.users.values()].find((u) => u.name === name)
      if (!user) {
        const used = new Set([...this.users.values()].map((u) => u.index))
        const index = [...Array(MAX_USERS).keys()].find((i) => !used.has(i))
        if (index === undefined) throw new Error(`the local platform supports at most ${MAX_USERS} users`)
        const secret = crypto.randomBytes(16).toString('hex')
        const token = Buffer.from(`robot$${name}.users.kraftcloud:${secret}`).toString('base64')
        user = {uuid: crypto.randomUUID(), name, index, token}
        this.putUser(user)
        // Each platform starts its users' address sequence at a random point, so that two platforms
        // on one machine (e.g. test runs side by side) rarely want the same loopback address.
        this.seq[user.uuid] = crypto.randomInt(0, MAX_SEQ)
      }
      result.push(user)
    }
    await this.flush()
    return result
  }

  private putUser(user: UserRecord): void {
    this.users.set(user.uuid, user)
    this.byToken.set(user.token, user)
  }

  // ---- instances

  instance(uuid: string): InstanceRecord | undefined {
    return this.instances.get(uuid)
  }

  listInstances(userUuid?: string): InstanceRecord[] {
    const all = [...this.instances.values()]
    return userUuid === undefined ? all : all.filter((i) => i.user === userUuid)
  }

  instanceByName(userUuid: string, name: string): InstanceRecord | undefined {
    for (const instance of this.instances.values()) if (instance.user === userUuid && instance.name === name) return instance
    return undefined
  }

  /** Private and backend address for the user's next instance (never one in use). */
  allocateAddresses(user: UserRecord): {private_ip: string; backend_ip: string} {
    const used = new Set(this.listInstances(user.uuid).map((i) => i.private_ip))
    let n = this.seq[user.uuid] ?? 0
    for (let tries = 0; tries < MAX_SEQ; tries++) {
      n = (n % MAX_SEQ) + 1
      const private_ip = `127.${16 + user.index}.${n >> 8}.${n & 255}`
      if (used.has(private_ip)) continue
      this.seq[user.uuid] = n
      return {private_ip, backend_ip: `127.${32 + user.index}.${n >> 8}.${n & 255}`}
    }
    throw new Error('no free private address left')
  }

  /** In memory only: callers batch their changes and then `await flush()` before answering. */
  setInstance(record: InstanceRecord): void {
    this.instances.set(record.uuid, record)
    if (record.service_uuid) {
      let set = this.attached.get(record.service_uuid)
      if (!set) this.attached.set(record.service_uuid, (set = new Set()))
      set.add(record.uuid)
    }
  }

  removeInstance(uuid: string): void {
    const record = this.instances.get(uuid)
    this.instances.delete(uuid)
    if (record?.service_uuid) this.attached.get(record.service_uuid)?.delete(uuid)
  }

  /** Applies a patch and makes it durable; undefined when the instance no longer exists. */
  async updateInstance(uuid: string, patch: Partial<InstanceRecord>): Promise<InstanceRecord | undefined> {
    if (!this.patchInstance(uuid, patch)) return undefined
    await this.flush()
    return this.instances.get(uuid)
  }

  /** The same in memory only (callers that change several records flush once). */
  patchInstance(uuid: string, patch: Partial<InstanceRecord>): InstanceRecord | undefined {
    const record = this.instances.get(uuid)
    if (!record) return undefined
    for (const [key, value] of Object.entries(patch)) {
      // An explicit `undefined` in a patch clears the field (e.g. pid after exit).
      if (value === undefined) delete (record as unknown as Record<string, unknown>)[key]
      else (record as unknown as Record<string, unknown>)[key] = value
    }
    return record
  }

  // ---- services

  service(uuid: string): ServiceRecord | undefined {
    return this.services.get(uuid)
  }

  listServices(userUuid?: string): ServiceRecord[] {
    const all = [...this.services.values()]
    return userUuid === undefined ? all : all.filter((s) => s.user === userUuid)
  }

  serviceByName(userUuid: string, name: string): ServiceRecord | undefined {
    for (const service of this.services.values()) if (service.user === userUuid && service.name === name) return service
    return undefined
  }

  /** Domains are public, so they are unique across all users. */
  serviceByDomain(fqdn: string): ServiceRecord | undefined {
    const uuid = this.byDomain.get(fqdn)
    return uuid === undefined ? undefined : this.services.get(uuid)
  }

  attachedInstances(serviceUuid: string): InstanceRecord[] {
    const result: InstanceRecord[] = []
    for (const uuid of this.attached.get(serviceUuid) ?? []) {
      const record = this.instances.get(uuid)
      if (record) result.push(record)
    }
    return result
  }

  /** In memory only, like setInstance. */
  setService(service: ServiceRecord): void {
    this.services.set(service.uuid, service)
    for (const domain of service.domains) this.byDomain.set(domain, service.uuid)
  }

  removeService(uuid: string): void {
    const service = this.services.get(uuid)
    if (!service) return
    this.services.delete(uuid)
    this.attached.delete(uuid)
    for (const domain of service.domains) if (this.byDomain.get(domain) === uuid) this.byDomain.delete(domain)
  }

  // ---- volumes (an attachment is recorded on its instance only: InstanceRecord.volumes)

  volume(uuid: string): VolumeRecord | undefined {
    return this.volumes.get(uuid)
  }

  listVolumes(userUuid?: string): VolumeRecord[] {
    const all = [...this.volumes.values()]
    return userUuid === undefined ? all : all.filter((v) => v.user === userUuid)
  }

  volumeByName(userUuid: string, name: string): VolumeRecord | undefined {
    for (const volume of this.volumes.values()) if (volume.user === userUuid && volume.name === name) return volume
    return undefined
  }

  /** The instance the volume is attached to, and how; undefined when it is attached to none. */
  attachmentOf(volumeUuid: string): {instance: InstanceRecord; mount: InstanceVolume} | undefined {
    for (const instance of this.instances.values()) {
      const mount = instance.volumes.find((v) => v.uuid === volumeUuid)
      if (mount) return {instance, mount}
    }
    return undefined
  }

  /** In memory only, like setInstance. */
  setVolume(volume: VolumeRecord): void {
    this.volumes.set(volume.uuid, volume)
  }

  removeVolume(uuid: string): void {
    this.volumes.delete(uuid)
  }

  // ---- certificates (a binding to a domain is recorded on its service only: ServiceRecord.certificates)

  certificate(uuid: string): CertificateRecord | undefined {
    return this.certificates.get(uuid)
  }

  listCertificates(userUuid?: string): CertificateRecord[] {
    const all = [...this.certificates.values()]
    return userUuid === undefined ? all : all.filter((c) => c.user === userUuid)
  }

  certificateByName(userUuid: string, name: string): CertificateRecord | undefined {
    for (const certificate of this.certificates.values()) if (certificate.user === userUuid && certificate.name === name) return certificate
    return undefined
  }

  /** The chain and private key; never leaves the platform except to the gateway. */
  certificateMaterial(uuid: string): CertificateMaterial | undefined {
    return this.material.get(uuid)
  }

  /** The services that present the certificate for one of their domains. */
  servicesUsing(certificateUuid: string): ServiceRecord[] {
    return [...this.services.values()].filter((s) => Object.values(s.certificates ?? {}).includes(certificateUuid))
  }

  /** In memory only, like setInstance; flush() writes the material before the state file names the record. */
  setCertificate(record: CertificateRecord, material: CertificateMaterial): void {
    this.certificates.set(record.uuid, record)
    this.material.set(record.uuid, material)
  }

  removeCertificate(uuid: string): void {
    this.certificates.delete(uuid)
    this.material.delete(uuid)
  }

  /** The gateway's user-certificate lookup: what the domain's service binds to it, if anything. */
  certificateFor(fqdn: string): CertificateMaterial | undefined {
    const uuid = this.serviceByDomain(fqdn)?.certificates?.[fqdn]
    return uuid === undefined ? undefined : this.material.get(uuid)
  }

  // ---- RouteTable (the gateway asks for every new public connection)

  route(fqdn: string): GatewayRoute | undefined {
    const service = this.serviceByDomain(fqdn.toLowerCase().replace(/\.$/, ''))
    if (!service) return undefined
    return {
      serviceUuid: service.uuid,
      services: service.services,
      softLimit: service.soft_limit,
      hardLimit: service.hard_limit,
      instances: this.attachedInstances(service.uuid).map((i) => ({uuid: i.uuid, state: i.state})),
    }
  }
}
