import {setTimeout as delay} from 'node:timers/promises'

import {type RequestOptions, type UkcClient, refOf} from './client.js'
import {type BatchResult, errorForItem, isFailed} from './envelope.js'
import {ExitCode, UkcError} from './errors.js'
import type {CreateInstanceRequest, Instance, InstanceLog, InstanceMetrics, InstanceState} from './types.js'
import {explainMissingVolume} from './volumes.js'

const KEY = 'instances'

/** Creates; a failure that names a missing `--volume` is thrown with a hint (see explainMissingVolume). */
export async function createInstance(client: UkcClient, request: CreateInstanceRequest): Promise<BatchResult<Instance>> {
  const volumes = request.volumes ?? []
  if (volumes.length === 0) return client.call<Instance>('POST', '/instances', KEY, {body: request})
  let result: BatchResult<Instance>
  try {
    result = await client.call<Instance>('POST', '/instances', KEY, {body: request})
  } catch (error) {
    throw error instanceof UkcError ? explainMissingVolume(error, volumes) : error
  }
  const failed = result.items.find(isFailed)
  if (failed) {
    // Thrown here only when it is about a volume; other failures stay the caller's to settle.
    const error = errorForItem(failed)
    const explained = explainMissingVolume(error, volumes)
    if (explained !== error) throw explained
  }
  return result
}

/** All instances with details (no body), or the named ones. */
export function getInstances(client: UkcClient, ids?: string[]): Promise<BatchResult<Instance>> {
  const body = ids && ids.length > 0 ? ids.map(refOf) : undefined
  return client.call<Instance>('GET', '/instances', KEY, {body, idempotent: true})
}

export function startInstances(client: UkcClient, ids: string[], waitTimeoutMs?: number): Promise<BatchResult<Instance>> {
  const body = ids.map((id) => ({...refOf(id), ...(waitTimeoutMs === undefined ? {} : {wait_timeout_ms: waitTimeoutMs})}))
  return client.call<Instance>('PUT', '/instances/start', KEY, {body, idempotent: true, timeoutMs: timeoutFor(waitTimeoutMs)})
}

export function stopInstances(
  client: UkcClient,
  ids: string[],
  options: {force?: boolean; drainTimeoutMs?: number} = {},
): Promise<BatchResult<Instance>> {
  const body = ids.map((id) => ({
    ...refOf(id),
    force: options.force ?? false,
    ...(options.drainTimeoutMs === undefined ? {} : {drain_timeout_ms: options.drainTimeoutMs}),
  }))
  return client.call<Instance>('PUT', '/instances/stop', KEY, {body, idempotent: true, timeoutMs: timeoutFor(options.drainTimeoutMs)})
}

export function deleteInstances(client: UkcClient, ids: string[]): Promise<BatchResult<Instance>> {
  return client.call<Instance>('DELETE', '/instances', KEY, {body: ids.map(refOf)})
}

/** Blocks (server side) until each instance reaches `state` or `timeoutMs` passes. */
export function waitInstances(client: UkcClient, ids: string[], state: InstanceState, timeoutMs: number, options: RequestOptions = {}): Promise<BatchResult<Instance>> {
  const body = ids.map((id) => ({...refOf(id), state, timeout_ms: timeoutMs}))
  return client.call<Instance>('GET', '/instances/wait', KEY, {...options, body, idempotent: true, timeoutMs: timeoutFor(timeoutMs)})
}

/** A window of an instance's console: negative offset counts from the end. */
export function getInstanceLogs(client: UkcClient, id: string, offset: number, limit: number): Promise<BatchResult<InstanceLog>> {
  return client.call<InstanceLog>('GET', '/instances/log', KEY, {body: [{...refOf(id), offset, limit}], idempotent: true})
}

/** The given instances, or (none given) the UUIDs of every instance, as kraft's metrics do. */
export async function instancesOrAll(client: UkcClient, ids: string[]): Promise<string[]> {
  if (ids.length > 0) return [...new Set(ids)]
  return (await getInstances(client)).items.filter((i) => i.status !== 'error').map((i) => i.uuid)
}

/** CPU time, memory, network and connection counters of the named instances (JSON form). */
export function getInstanceMetrics(client: UkcClient, ids: string[], options: RequestOptions = {}): Promise<BatchResult<InstanceMetrics>> {
  return client.call<InstanceMetrics>('GET', '/instances/metrics', KEY, {...options, body: ids.map(refOf), idempotent: true})
}

const GONE_POLL_MS = 500

/** Polls until every instance answers "not found" (a delete completes asynchronously), or times out. */
export async function waitInstancesGone(client: UkcClient, uuids: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (uuids.length > 0) {
    const {items} = await getInstances(client, uuids)
    if (items.every(isFailed)) return
    if (Date.now() > deadline) throw new UkcError(`instances still exist after ${timeoutMs} ms`, {exitCode: ExitCode.Unavailable, code: 'TIMEOUT'})
    await delay(GONE_POLL_MS)
  }
}

function timeoutFor(serverWaitMs?: number): number | undefined {
  return serverWaitMs && serverWaitMs > 0 ? serverWaitMs + 30_000 : undefined
}
