// What the API needs from the rest of the platform. The runtime (helper C's Runtime) satisfies
// InstanceRuntime structurally; tests pass a fake.
import type {Image, InstanceState} from '../../api/types.js'
import type {MeterReading} from '../metrics/index.js'
import type {Store} from '../store/index.js'
import type {CertificateMaterial, InstanceRecord, Logger} from '../types.js'

export interface ResolvedImage {
  ports: number[]
  digest: string
}

export interface InstanceRuntime {
  readonly catalog: {
    list(): Image[]
    /** Throws an Error with a user-facing message for unknown images or missing host binaries. */
    resolve(ref: string): ResolvedImage
  }
  start(uuid: string): Promise<void>
  stop(uuid: string, options: {force: boolean; drainTimeoutMs: number; reason: 'user' | 'platform'}): Promise<void>
  remove(uuid: string): Promise<void>
  waitFor(uuid: string, state: InstanceState, timeoutMs: number): Promise<InstanceState>
  logs(uuid: string, offset: number, limit: number): {output: Buffer; range: {start: number; end: number}; available: {start: number; end: number}}
  refreshNames(userUuid: string): void
}

/** The volumes' storage (volumes/VolumeStorage): the API makes, releases and deletes it; boots mount it. */
export interface VolumeBacking {
  /** Makes the storage of a new volume (anything left of an earlier attempt is replaced). */
  create(uuid: string, sizeMb: number): Promise<void>
  /** Unmounts it (after a detach, or when its instance is gone). */
  release(uuid: string): Promise<void>
  destroy(uuid: string): Promise<void>
}

/** What the platform measures of instances (metrics/InstanceMeters): the metrics endpoint and the autoscaler read it. */
export interface InstanceMeterReader {
  read(record: InstanceRecord): MeterReading
  /** CPU time over the instance's runs, in ms. */
  cpuMs(record: InstanceRecord): number
  /** Connections and requests the gateway has in flight on the instance. */
  inflight(uuid: string): number
  /** The instance is deleted. */
  forget(uuid: string): void
}

export interface ApiContext {
  store: Store
  runtime: InstanceRuntime
  volumes: VolumeBacking
  meters: InstanceMeterReader
  /** How often the autoscaler decides (default autoscale's DEFAULT_TICK_MS; tests shorten it). */
  autoscaleTickMs?: number
  /** Metro domain, e.g. `local.localhost`. */
  domain: string
  log: Logger
  /** Makes the gateway serve these published ports (other than 443/80); called before answering. */
  publish(ports: number[]): Promise<void>
  /** A new certificate from the platform CA for a custom domain given without one (never cached). */
  issueCertificate(fqdn: string): Promise<CertificateMaterial>
}
