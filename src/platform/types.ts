// Contracts between the platform's parts. The API (api/, store/) owns the records; the runtime
// (runtime/, network/, scaler/) runs them; the gateway (gateway/, tls/) routes public traffic.
// Change a contract only together with every side that uses it.
import type net from 'node:net'

import type {AutoscaleStepPolicy, Handler, InstanceState, RestartPolicy, ScaleToZero, ServicePort} from '../api/types.js'

export type {AutoscaleStepPolicy, Handler, InstanceState, RestartPolicy, ScaleToZero, ServicePort}

/** A local user: one token, one private network. */
export interface UserRecord {
  uuid: string
  /** Short name, e.g. `alice`; the token's user part is `robot$alice.users.kraftcloud`. */
  name: string
  /** Index of the user's private network: IPs 127.(16+index).x.y, backends 127.(32+index).x.y. */
  index: number
  token: string
}

/** An instance as the platform stores it (the API's Instance object is derived from it). */
export interface InstanceRecord {
  uuid: string
  name: string
  user: string // UserRecord.uuid
  image: string // as requested, e.g. `postgres:16` (resolved to a catalog entry)
  args: string[]
  env: Record<string, string>
  memory_mb: number
  vcpus: number
  restart_policy: RestartPolicy
  scale_to_zero: ScaleToZero
  features: string[]
  /** Private network address (loopback range 127.16.0.0/12, never a real private range). */
  private_ip: string
  /** Where the instance process listens; the platform's private endpoints forward here. */
  backend_ip: string
  /** Ports the instance serves on (image ports plus service destination ports). */
  ports: number[]
  service_uuid?: string
  /** The volumes attached to it (the one record of an attachment; a volume names no instance). */
  volumes: InstanceVolume[]
  state: InstanceState
  /** What the user last asked for: `running` (start/autostart) or `stopped`. Restored after a platform restart. */
  desired: 'running' | 'stopped'
  created_at: string
  started_at?: string
  stopped_at?: string
  start_count: number
  restart_count: number
  restart_attempt: number
  next_restart_at?: string
  stop_reason?: number
  stop_code?: number
  exit_code?: number
  boot_time_us?: number
  pid?: number
  /** Set on instances autoscale made: the UUID of the master they are a clone of. */
  clone_of?: string
}

/** A volume attached to an instance: mounted at `at` (an absolute path inside the instance). */
export interface InstanceVolume {
  uuid: string
  name: string
  at: string
  readonly: boolean
}

/**
 * Where a volume's storage is in its life (api/volume-phases.ts has the transitions); the API's
 * `state` is derived from it and from the instance it is attached to.
 */
export type VolumePhase = 'uninitialized' | 'available' | 'error'

export interface VolumeRecord {
  uuid: string
  name: string
  user: string
  size_mb: number
  created_at: string
  /** Stays when the instance it is attached to is deleted (created by POST /volumes, or detached once). */
  persistent: boolean
  phase: VolumePhase
  /** Why the phase is `error`: the storage could not be created. */
  error?: string
}

export interface ServiceRecord {
  uuid: string
  name: string
  user: string
  created_at: string
  persistent: boolean
  soft_limit: number
  hard_limit: number
  services: ServicePort[]
  /** Public FQDNs without trailing dot, lower case, e.g. `my-svc.local.localhost`. */
  domains: string[]
  /**
   * Domain → uuid of the certificate the gateway presents for it (custom domains); domains without
   * an entry get the platform CA's leaf. Absent in state files written before certificates existed.
   */
  certificates?: Record<string, string>
  /** The service's autoscale configuration (POST /services/autoscale); absent when not configured. */
  autoscale?: AutoscaleRecord
}

/**
 * A user's TLS certificate: uploaded (POST /certificates), or issued by the platform CA for a
 * custom domain given without one. What the API reports is read from the certificate at upload;
 * the chain and the private key are kept apart (store: one 0600 file per certificate).
 */
export interface CertificateRecord {
  uuid: string
  name: string
  user: string
  created_at: string
  /** The subject's CN, lower case, e.g. `www.example.com` or `*.example.com`. */
  common_name: string
  subject: string
  issuer: string
  /** Hex, upper case. */
  serial_number: string
  /** ISO 8601. */
  not_before: string
  not_after: string
}

/** A certificate chain (PEM, the leaf first) and its private key (PEM): what node's tls serves. */
export interface CertificateMaterial {
  cert: string
  key: string
}

/** What `POST /services/autoscale` configured (autoscale/ runs it; the group is the master and its clones). */
export interface AutoscaleRecord {
  /** UUID of the master instance (attached to the service; never removed by autoscale). */
  master: string
  min_size: number
  max_size: number
  warmup_time_ms: number
  cooldown_time_ms: number
  policies: AutoscaleStepPolicy[]
}

/** Where a connection for an instance goes once the instance is ready. */
export interface BackendAddress {
  host: string
  port: number
}

/**
 * Implemented by the runtime, called by the private endpoints and the gateway for every connection
 * to an instance. `open` wakes a standby instance and holds the caller until it accepts connections.
 */
export interface ConnectionTracker {
  /** Resolves with the backend to connect to; rejects when the instance cannot take connections. */
  open(instanceUuid: string, port: number, via: 'public' | 'private'): Promise<BackendAddress>
  /** Bytes moved on one of the instance's connections (drives the `idle` policy); cheap. */
  activity(instanceUuid: string): void
  /** One of the instance's connections ended. */
  close(instanceUuid: string): void
  /**
   * `socket` is connected to the instance's process (what the platform wrote to it the instance
   * received; what it read the instance sent): its bytes count in the instance's metrics.
   */
  meter?(instanceUuid: string, socket: net.Socket): void
}

/** What the gateway needs to route one public FQDN. */
export interface GatewayRoute {
  serviceUuid: string
  services: ServicePort[]
  softLimit: number
  hardLimit: number
  /** Attached instances; the gateway balances across those running or on standby. */
  instances: Array<{uuid: string; state: InstanceState}>
}

/** Implemented by the state side; the gateway asks it for each new connection. */
export interface RouteTable {
  /** By FQDN (lower case, no trailing dot); undefined = no service on this URL. */
  route(fqdn: string): GatewayRoute | undefined
}

export type Logger = (line: string) => void
