// Shapes of the Unikraft Cloud REST API v1 objects, after the Go SDK's JSON tags
// (../shared/reference/ukc-cli-api.md §2). Optional where the API omits them.
// Longer than ~350 lines: every API shape in one file, to be read side by side with the reference.

export type InstanceState = 'stopped' | 'starting' | 'running' | 'draining' | 'stopping' | 'standby' | 'template'
export type RestartPolicy = 'never' | 'always' | 'on-failure'
export type ScaleToZeroPolicy = 'off' | 'on' | 'idle'
export type Handler = 'tls' | 'http' | 'redirect'

/** Fields every item of a batch response may carry (Go `APIResponseCommon`). */
export interface ItemStatus {
  /** `unconfigured`: a service without autoscale, answered by `GET /services/autoscale`. */
  status?: 'success' | 'error' | 'unconfigured'
  message?: string
  /** Per-item error code (see ErrorCode). */
  error?: number
}

/** `{uuid}` or `{name}`: how every batch endpoint addresses an object. */
export type ObjectRef = {uuid: string; name?: never} | {name: string; uuid?: never}

export interface ScaleToZero {
  policy: ScaleToZeroPolicy
  stateful?: boolean
  cooldown_time_ms?: number
  enabled?: boolean
}

export interface ServicePort {
  port: number
  destination_port?: number
  handlers?: Handler[]
}

export interface DomainRef {
  fqdn: string
  certificate?: {uuid?: string; name?: string; state?: string}
}

export interface InstanceServiceGroupRef {
  uuid: string
  name: string
  domains?: DomainRef[]
}

export interface InstanceVolume {
  uuid: string
  name: string
  at: string
  readonly: boolean
}

export interface Instance extends ItemStatus {
  uuid: string
  name: string
  created_at?: string
  state?: InstanceState
  image?: string
  memory_mb?: number
  vcpus?: number
  args?: string[]
  env?: Record<string, string>
  start_count?: number
  restart_count?: number
  started_at?: string
  stopped_at?: string
  uptime_ms?: number
  restart_policy?: RestartPolicy
  restart?: {attempt: number; next_at?: string}
  stop_reason?: number
  stop_code?: number
  exit_code?: number
  boot_time_us?: number
  net_time_us?: number
  scale_to_zero?: ScaleToZero
  private_fqdn?: string
  private_ip?: string
  service_group?: InstanceServiceGroupRef
  volumes?: InstanceVolume[]
  features?: string[]
  previous_state?: InstanceState
}

export interface ServiceGroup extends ItemStatus {
  uuid: string
  name: string
  created_at?: string
  persistent?: boolean
  autoscale?: boolean
  soft_limit?: number
  hard_limit?: number
  services?: ServicePort[]
  domains?: DomainRef[]
  instances?: Array<{uuid: string; name: string}>
}

export interface Image extends ItemStatus {
  digest: string
  tags?: string[]
  initrd?: boolean
  size_in_bytes?: number
  args?: string
  kernel_args?: string
  labels?: Record<string, string>
}

export interface Quotas extends ItemStatus {
  uuid: string
  used: {
    instances: number
    live_instances: number
    live_vcpus: number
    live_memory_mb: number
    service_groups: number
    services: number
    volumes: number
    total_volume_mb: number
  }
  hard: {
    instances: number
    live_vcpus: number
    live_memory_mb: number
    service_groups: number
    services: number
    volumes: number
    total_volume_mb: number
  }
  limits: {
    min_memory_mb: number
    max_memory_mb: number
    min_vcpus: number
    max_vcpus: number
    min_volume_mb: number
    max_volume_mb: number
    min_autoscale_size: number
    max_autoscale_size: number
  }
}

export type VolumeState = 'uninitialized' | 'initializing' | 'initialized' | 'available' | 'idle' | 'mounted' | 'busy' | 'error' | 'template'

export interface Volume extends ItemStatus {
  uuid: string
  name: string
  state?: VolumeState
  size_mb?: number
  attached_to?: Array<{uuid: string; name: string}>
  mounted_by?: Array<{uuid: string; name: string; readonly?: boolean}>
  persistent?: boolean
  created_at?: string
}

/** `POST /volumes` (the SDK sends one object; the OpenAPI file an array of them). */
export interface CreateVolumeRequest {
  name?: string
  size_mb: number
}

export type CertificateState = 'valid' | 'pending' | 'error'

export interface Certificate extends ItemStatus {
  uuid: string
  name: string
  created_at?: string
  common_name?: string
  state?: CertificateState
  validation?: {attempt?: number; next?: string}
  subject?: string
  issuer?: string
  serial_number?: string
  not_before?: string
  not_after?: string
  service_groups?: Array<{uuid: string; name: string}>
}

/** `POST /certificates`: PEM strings; `pkey` is a secret and is never printed or logged. */
export interface CreateCertificateRequest {
  name?: string
  cn: string
  chain: string
  pkey: string
}

export interface InstanceLog extends ItemStatus {
  uuid: string
  name: string
  /** base64 of the console bytes in `range`. */
  output?: string
  range?: {start: number; end: number}
  available?: {start: number; end: number}
  state?: InstanceState
}

/** Domain item in a create request: a name ending in `.` is an FQDN, otherwise a subdomain. */
export interface DomainSpec {
  name: string
  certificate?: ObjectRef
}

export type ServiceGroupSpec = ObjectRef | {services?: ServicePort[]; domains?: DomainSpec[]; name?: string}

export interface VolumeSpec {
  uuid?: string
  name?: string
  size_mb?: number
  at: string
  readonly?: boolean
}

export interface CreateInstanceRequest {
  image: string
  name?: string
  args?: string[]
  env?: Record<string, string>
  memory_mb?: number
  vcpus?: number
  restart_policy?: RestartPolicy
  scale_to_zero?: ScaleToZero
  volumes?: VolumeSpec[]
  service_group?: ServiceGroupSpec
  autostart?: boolean
  replicas?: number
  wait_timeout_ms?: number
  features?: string[]
}

export interface CreateServiceRequest {
  name?: string
  services: ServicePort[]
  domains: DomainSpec[]
  soft_limit?: number
  hard_limit?: number
}

/** The response envelope of every API call. */
export interface Envelope<K extends string = string, T = unknown> {
  status: 'success' | 'partial_success' | 'error'
  message?: string
  errors?: Array<{status?: number; message?: string}>
  data?: Partial<Record<K, T[]>>
  op_time_us?: number
}

/** Per-item error codes (Go SDK client/errors.go, iota order). */
export const ErrorCode = {
  UnknownError: 0,
  NotSupported: 1,
  WrongMethod: 2,
  NoAPIEndpoint: 3,
  FailNotAll: 4,
  TooMany: 5,
  Unknown: 6,
  Invalid: 7,
  NotFound: 8,
  NoFree: 9,
  FailedOperation: 10,
  FailedWrongVMState: 11,
  TimedOut: 12,
  MissingID: 13,
  NotAllowed: 14,
  Attached: 15,
  MalformedRequest: 16,
  NotBoth: 17,
  AddService: 18,
  Quota: 19,
  GuestMemoryTooSmall: 20,
  NotAttached: 21,
  TooLong: 22,
  AlreadyExists: 23,
  CannotBeUsed: 24,
  AutoscaleInstance: 25,
  AutoscaleConfigured: 26,
  AutoscaleNotConfigured: 27,
  AutoscaleDisabled: 28,
  AutoscaleSizeOOR: 29,
  CertCNMismatch: 30,
} as const

/** `GET /instances/metrics` (SDK MetricsResponseItem; the OpenAPI's instance_metrics is a subset). */
export interface InstanceMetrics extends ItemStatus {
  uuid: string
  name: string
  state?: InstanceState
  /** Starts of the instance: a boot, including each wake of a stateless scaled-to-zero instance. */
  start_count?: number
  restart_count?: number
  started_at?: string
  stopped_at?: string
  uptime_ms?: number
  boot_time_us?: number
  net_time_us?: number
  /** Resident set size in bytes (0 when stopped). */
  rss_bytes?: number
  /** CPU time consumed, accumulated over starts. */
  cpu_time_ms?: number
  rx_bytes?: number
  rx_packets?: number
  tx_bytes?: number
  tx_packets?: number
  /** Established inbound connections (non-HTTP). */
  nconns?: number
  /** In-flight HTTP requests. */
  nreqs?: number
  /** Queued inbound connections and HTTP requests. */
  nqueued?: number
  /** Inbound connections and HTTP requests handled in total. */
  ntotal?: number
}

export type AutoscaleMetric = 'cpu' | 'inflight_reqs'
/** The API's values (OpenAPI); kraft's `--adjustment absolute` is the API's `exact`. */
export type AutoscaleAdjustment = 'change' | 'exact' | 'percent'

/** One step: the adjustment applies while the metric is in [lower_bound, upper_bound); one bound may be absent. */
export interface AutoscaleStep {
  lower_bound?: number
  upper_bound?: number
  adjustment: number
}

export interface AutoscaleStepPolicy {
  name: string
  type: 'step'
  metric: AutoscaleMetric
  adjustment_type: AutoscaleAdjustment
  steps: AutoscaleStep[]
}

export interface AutoscaleOnDemandPolicy {
  name: string
  type: 'on_demand'
  exclusive?: boolean
}

export type AutoscalePolicy = AutoscaleStepPolicy | AutoscaleOnDemandPolicy

/** A service's autoscale configuration (`GET /services/autoscale`, key `service_groups`). */
export interface AutoscaleConfig extends ItemStatus {
  /** The service's UUID and name. */
  uuid: string
  name: string
  enabled?: boolean
  min_size?: number
  max_size?: number
  warmup_time_ms?: number
  cooldown_time_ms?: number
  master?: {uuid?: string; name?: string}
  /** Newer SDKs name the master `template`. */
  template?: {uuid?: string; name?: string}
  policies?: AutoscalePolicy[]
}

export interface CreateAutoscaleRequest {
  uuid?: string
  name?: string
  min_size?: number
  max_size?: number
  warmup_time_ms?: number
  cooldown_time_ms?: number
  master: ObjectRef
  policies?: AutoscalePolicy[]
}

/** What a policy call answers per item (`policies` key); `GET …/policies/{name}` may carry the policy itself. */
export interface AutoscalePolicyItem extends ItemStatus {
  uuid?: string
  name?: string
  type?: AutoscalePolicy['type']
  metric?: AutoscaleMetric
  adjustment_type?: AutoscaleAdjustment
  steps?: AutoscaleStep[]
  /** Other shapes seen in SDKs: the policy under `details`, or a list under `policies`. */
  details?: AutoscalePolicy
  policies?: AutoscalePolicy[]
}
