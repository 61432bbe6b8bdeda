// POST /instances: validate the whole request (400 on bad input), then create the instance and
// its replicas (per-item failures: unknown image, name clash, quota, volumes), make it durable, then
// start.
import crypto from 'node:crypto'

import {ErrorCode} from '../../api/types.js'
import type {CertificateMaterial, InstanceRecord, ScaleToZero, ServiceRecord, UserRecord, VolumeRecord} from '../types.js'
import type {ApiContext, ResolvedImage} from './context.js'
import {ItemFailure, alreadyExists, invalid} from './failures.js'
import {type Json, bool, intInRange, isObject, oneOf, onlyKnown, stringList, stringMap} from './fields.js'
import {generatedInstanceName, randomSuffix, validName} from './names.js'
import {HARD, LIMITS} from './quotas.js'
import {type RefEntry} from './refs.js'
import {type NewService, type ServiceDraft, findService, newServiceRecord, readServiceDraft, storeService} from './services.js'
import {type VolumeRequest, readInstanceVolumes} from './volume-requests.js'
import type {VolumeOperations} from './volumes.js'

const FIELDS = [
  'name', 'image', 'template', 'args', 'env', 'memory_mb', 'vcpus', 'restart_policy', 'scale_to_zero', 'volumes',
  'service_group', 'autostart', 'replicas', 'wait_timeout_ms', 'timeout_s', 'features',
] as const
const FEATURES = ['delete-on-stop', 'scale-to-zero']
/** The OpenAPI's bounds: at most 253 args and 253 environment variables. */
export const MAX_ARGS = 253
export const MAX_ENV = 253
/**
 * What one instance's args and env may weigh together (our choice: the real API documents no total;
 * a unikernel's command line is small, and records this size keep every user's state writes cheap).
 */
export const MAX_LAUNCH_BYTES = 64 * 1024
/** `wait_timeout_ms: -1` means "as long as it takes"; bounded so a request cannot hang forever. */
export const MAX_WAIT_MS = 3_600_000

export interface CreateRequest {
  image: string
  name?: string
  args: string[]
  env: Record<string, string>
  memory_mb: number
  vcpus: number
  restart_policy: InstanceRecord['restart_policy']
  scale_to_zero: ScaleToZero
  features: string[]
  replicas: number
  autostart: boolean
  /** 0 = answer at once; >0 or -1 (max) = block until running. */
  waitMs: number
  group?: {attach: RefEntry} | {draft: ServiceDraft}
  volumes: VolumeRequest[]
}

function scaleToZeroOf(body: Json, features: string[]): ScaleToZero {
  const value = body.scale_to_zero
  if (value === undefined || value === null) {
    return {policy: features.includes('scale-to-zero') ? 'on' : 'off', stateful: false, cooldown_time_ms: 1000}
  }
  if (!isObject(value)) throw invalid("Value of 'scale_to_zero' must be an object")
  onlyKnown(value, ['policy', 'stateful', 'cooldown_time_ms', 'enabled', 'notify_time_ms'], 'scale_to_zero.')
  if (value.policy === undefined) throw invalid("Value of 'policy' in scale_to_zero is required")
  return {
    policy: oneOf(value, 'policy', ['off', 'on', 'idle'] as const, 'off'),
    stateful: bool(value, 'stateful', false),
    cooldown_time_ms: intInRange(value, 'cooldown_time_ms', 0, 86_400_000, 1000),
  }
}

function groupOf(ctx: ApiContext, value: unknown): CreateRequest['group'] {
  if (value === undefined || value === null) return undefined
  if (!isObject(value)) throw invalid("Value of 'service_group' must be an object")
  const describes = value.services !== undefined || value.domains !== undefined
  if (!describes && (typeof value.uuid === 'string' || typeof value.name === 'string')) {
    onlyKnown(value, ['uuid', 'name'], 'service_group.')
    if (value.uuid !== undefined && value.name !== undefined) throw invalid("Only one of 'uuid' or 'name' may be given in service_group")
    return {attach: {body: value, uuid: value.uuid as string | undefined, name: value.name as string | undefined}}
  }
  onlyKnown(value, ['name', 'services', 'domains', 'soft_limit', 'hard_limit'], 'service_group.')
  return {draft: readServiceDraft(ctx, value, false)}
}

/** The whole-request checks: anything wrong here is HTTP 400 with the real message. */
export function readCreateRequest(ctx: ApiContext, body: unknown): CreateRequest {
  if (!isObject(body)) throw invalid('Malformed request: expected a JSON object')
  onlyKnown(body, FIELDS)
  if (body.template !== undefined) throw invalid('Instance templates are not supported by the local platform')
  if (typeof body.image !== 'string' || body.image.trim() === '') throw invalid("Value of 'image' is required")
  const volumes = readInstanceVolumes(body.volumes)
  const replicas = intInRange(body, 'replicas', 0, 253, 0)
  // A volume is attached to one instance at a time; replicas each get their own new volumes.
  if (replicas > 0 && volumes.some((v) => 'ref' in v)) throw invalid('An existing volume can be attached to one instance only: give replicas new volumes (size_mb)')
  const features = [...new Set(stringList(body, 'features'))]
  for (const feature of features) if (!FEATURES.includes(feature)) throw invalid(`Unknown feature '${feature}'`)
  let waitMs = intInRange(body, 'wait_timeout_ms', -1, MAX_WAIT_MS, 0)
  if (waitMs === 0 && body.timeout_s !== undefined) waitMs = intInRange(body, 'timeout_s', -1, MAX_WAIT_MS / 1000, 0) * 1000
  const {args, env} = launchOf(body)
  return {
    image: body.image.trim(),
    ...(body.name === undefined || body.name === null ? {} : {name: validName(body.name)}),
    args,
    env,
    memory_mb: intInRange(body, 'memory_mb', LIMITS.min_memory_mb, LIMITS.max_memory_mb, 128),
    vcpus: intInRange(body, 'vcpus', LIMITS.min_vcpus, LIMITS.max_vcpus, 1),
    restart_policy: oneOf(body, 'restart_policy', ['never', 'always', 'on-failure'] as const, 'never'),
    scale_to_zero: scaleToZeroOf(body, features),
    features: features.filter((f) => f !== 'scale-to-zero'),
    replicas,
    autostart: bool(body, 'autostart', false),
    waitMs: waitMs < 0 ? MAX_WAIT_MS : waitMs,
    group: groupOf(ctx, body.service_group),
    volumes,
  }
}

/** args and env within the bounds above; an environment name is never empty and holds no `=` or NUL. */
function launchOf(body: Json): {args: string[]; env: Record<string, string>} {
  const args = stringList(body, 'args')
  const env = stringMap(body, 'env')
  if (args.length > MAX_ARGS) throw invalid(`Value of 'args' must have at most ${MAX_ARGS} items`)
  const names = Object.keys(env)
  if (names.length > MAX_ENV) throw invalid(`Value of 'env' must have at most ${MAX_ENV} entries`)
  const bad = names.find((name) => name === '' || /[=\0]/.test(name))
  if (bad !== undefined) throw invalid(`Invalid environment variable name '${bad.slice(0, 64)}'`)
  const bytes = [...args, ...names, ...Object.values(env)].reduce((sum, text) => sum + Buffer.byteLength(text) + 1, 0)
  if (bytes > MAX_LAUNCH_BYTES) throw invalid(`The instance's args and env must not exceed ${MAX_LAUNCH_BYTES / 1024} KiB together (got ${Math.ceil(bytes / 1024)} KiB)`)
  return {args, env}
}

function resolveImage(ctx: ApiContext, image: string): ResolvedImage {
  try {
    return ctx.runtime.catalog.resolve(image)
  } catch (error) {
    const message = (error as Error).message
    throw new ItemFailure(/no image/i.test(message) ? ErrorCode.NotFound : ErrorCode.NotSupported, message)
  }
}

function uniqueName(ctx: ApiContext, user: UserRecord, make: () => string, taken: Set<string>): string {
  for (let tries = 0; tries < 50; tries++) {
    const name = make()
    if (!taken.has(name) && !ctx.store.instanceByName(user.uuid, name)) return name
  }
  throw new ItemFailure(ErrorCode.NoFree, 'Could not generate a free instance name')
}

/**
 * New records (base instance first, then replicas), the implicit service (with the certificates made
 * for its domains: `issued`, from prepareService) and new volumes if any, all in memory; synchronous
 * from the name checks to the store so concurrent creates cannot claim the same name or volume.
 */
export function stageInstances(
  ctx: ApiContext,
  volumeOps: VolumeOperations,
  user: UserRecord,
  request: CreateRequest,
  issued = new Map<string, CertificateMaterial>(),
): {records: InstanceRecord[]; service?: ServiceRecord; created: boolean; volumes: VolumeRecord[]} {
  const image = resolveImage(ctx, request.image)
  const count = request.replicas + 1
  if (ctx.store.listInstances(user.uuid).length + count > HARD.instances) throw new ItemFailure(ErrorCode.Quota, 'Quota exhausted: too many instances')
  const taken = new Set<string>()
  if (request.name && ctx.store.instanceByName(user.uuid, request.name)) throw alreadyExists(`Instance with name '${request.name}' already exists`)
  const base = request.name ?? uniqueName(ctx, user, () => generatedInstanceName(request.image), taken)
  taken.add(base)
  const names = [base]
  for (let i = 1; i < count; i++) {
    const replica = uniqueName(ctx, user, () => `${base}-${randomSuffix(5)}`.slice(0, 63), taken)
    taken.add(replica)
    names.push(replica)
  }

  let service: ServiceRecord | undefined
  let created: NewService | undefined
  if (request.group && 'attach' in request.group) service = findService(ctx, user, request.group.attach)
  else if (request.group) {
    created = newServiceRecord(ctx, user, request.group.draft, issued)
    service = created.record
  }

  const volumes = volumeOps.planForInstances(user, names.map((name) => ({name})), request.volumes)
  const ports = [...new Set([...image.ports, ...(service?.services ?? []).map((s) => s.destination_port ?? s.port)])]
  // Scale-to-zero without autostart: the instance boots once and then sleeps (standby) after its
  // cooldown until a connection wakes it, so it is started like an autostarted one.
  const launch = request.autostart || request.scale_to_zero.policy !== 'off'
  const now = new Date().toISOString()
  const records = names.map((name, i): InstanceRecord => ({
    uuid: crypto.randomUUID(),
    name,
    user: user.uuid,
    image: request.image,
    args: request.args,
    env: request.env,
    memory_mb: request.memory_mb,
    vcpus: request.vcpus,
    restart_policy: request.restart_policy,
    scale_to_zero: request.scale_to_zero,
    features: request.features,
    ...ctx.store.allocateAddresses(user),
    ports,
    ...(service ? {service_uuid: service.uuid} : {}),
    volumes: volumes.mounts[i],
    state: 'stopped',
    desired: launch ? 'running' : 'stopped',
    created_at: now,
    start_count: 0,
    restart_count: 0,
    restart_attempt: 0,
  }))
  if (created) storeService(ctx, created)
  for (const volume of volumes.created) ctx.store.setVolume(volume)
  for (const record of records) ctx.store.setInstance(record)
  return {records, service, created: created !== undefined, volumes: volumes.created}
}
