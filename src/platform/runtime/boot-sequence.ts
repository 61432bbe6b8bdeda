// The steps of booting one instance, as the supervisor's `boot` effect runs them: resolve the image,
// wait for a retired process to release its port, kill leftovers of a crashed platform, open the
// private endpoints, ask the image for its launch plan, spawn (handing the process to the supervisor
// at once); then wait until the process serves its port (or the boot timeout passes) and, where the
// kernel enforces the private network, until its addresses are admitted for its user. Each step
// checks the abort signal: a stop or an exit during the boot aborts it.
import type {InstanceEndpoints} from '../network/index.js'
import type {InstanceRecord} from '../types.js'
import type {ImageCatalog, ResolvedImage} from './catalog.js'
import {launchContextOf, type InstancePlace} from './instance-environment.js'
import {InstanceProcess} from './instance-process.js'
import type {LaunchPlan} from './launch.js'
import {backendPort, endpointPort} from './ports.js'
import {waitUntilReady} from './readiness.js'
import {killStaleProcess} from './stale-process.js'

/** How long an endpoint address still in use (a platform going away) is retried. */
const ENDPOINT_RETRY_MS = 2_000

export interface BootInput {
  record: InstanceRecord
  catalog: ImageCatalog
  bootTimeoutMs: number
  endpoints: InstanceEndpoints
  place: InstancePlace
  /** Settles once a process retired by a stateless standby has exited (its port is free). */
  retiring: Promise<unknown> | undefined
  output: (chunk: Buffer) => void
}

export interface Spawned {
  child: InstanceProcess
  plan: LaunchPlan
  spawnedAt: bigint
}

/** How a boot ended; `bootFailed` and `booted` are the supervisor's events for the first two. */
export type BootOutcome =
  | {kind: 'notSpawned'; error?: Error} // no error: aborted
  | {kind: 'ready'; bootTimeUs: number}
  | {kind: 'killed'; error: Error} // timeout, or no admission: the process was killed, its exit moves the instance on
  | {kind: 'aborted'}

/** Boots: `spawned` is called as soon as the process exists (before readiness). */
export async function bootInstance(input: BootInput, signal: AbortSignal, onSpawned: (spawned: Spawned) => void): Promise<BootOutcome> {
  const {record} = input
  let image: ResolvedImage
  let spawned: Spawned
  try {
    image = input.catalog.resolve(record.image)
    spawned = await prepareAndSpawn(input, image, signal)
  } catch (error) {
    return {kind: 'notSpawned', error: signal.aborted ? undefined : (error as Error)}
  }
  onSpawned(spawned)
  if (signal.aborted) return {kind: 'aborted'}
  let listeningAt = 0n // boot_time_us is spawn → listening, whatever the admission takes
  const [readiness, refused] = await Promise.all([
    awaitReadiness(record, image, spawned.plan, input.bootTimeoutMs, signal).finally(() => (listeningAt = process.hrtime.bigint())),
    input.endpoints.admitted.then(() => undefined, (error: Error) => error),
  ])
  const bootTimeUs = Number((listeningAt - spawned.spawnedAt) / 1000n)
  if (readiness === 'aborted') return {kind: 'aborted'}
  if (refused) {
    spawned.child.signal('SIGKILL')
    return {kind: 'killed', error: new Error(`instance ${record.name}: its private network could not be opened (${refused.message})`)}
  }
  if (readiness === 'ready') return {kind: 'ready', bootTimeUs}
  spawned.child.signal('SIGKILL')
  const where = `${record.backend_ip}:${backendPort(image.ports[0])}`
  return {kind: 'killed', error: new Error(`instance ${record.name} did not listen on ${where} within ${input.bootTimeoutMs / 1000} s`)}
}

/** Everything up to a spawned process; throws the user-facing reason when it cannot get there. */
async function prepareAndSpawn(input: BootInput, image: ResolvedImage, signal: AbortSignal): Promise<Spawned> {
  const {record, endpoints, place} = input
  if (input.retiring) await input.retiring
  await killStaleProcess(record.pid, record.uuid)
  signal.throwIfAborted()
  if (!endpoints.isOpen) {
    const ports = [...new Set([...image.ports, ...record.ports])].map((port) => ({port, listenPort: endpointPort(port)}))
    try {
      await endpoints.open(ports, ENDPOINT_RETRY_MS)
    } catch (error) {
      throw new Error(`${(error as Error).message} (instance ${record.name})`)
    }
  }
  signal.throwIfAborted()
  const volumes = await place.mountVolumes()
  signal.throwIfAborted()
  const context = launchContextOf(record, image, place, volumes)
  const plan = await image.launch(context)
  signal.throwIfAborted()
  const child = await InstanceProcess.spawn({
    command: plan.command,
    args: plan.args,
    env: context.env,
    cwd: context.dataDir,
    runAs: place.runAs,
    output: input.output,
  })
  return {child, plan, spawnedAt: process.hrtime.bigint()}
}

/** Waits until the process serves the image's port (or the plan's own check passes). */
async function awaitReadiness(record: InstanceRecord, image: ResolvedImage, plan: LaunchPlan, timeoutMs: number, signal: AbortSignal): Promise<'ready' | 'timeout' | 'aborted'> {
  const both = new AbortController()
  const abort = (): void => both.abort()
  signal.addEventListener('abort', abort, {once: true})
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    both.abort()
  }, timeoutMs)
  try {
    await waitUntilReady({host: record.backend_ip, port: backendPort(image.ports[0]), check: plan.ready, signal: both.signal})
    return 'ready'
  } catch {
    return timedOut && !signal.aborted ? 'timeout' : 'aborted'
  } finally {
    clearTimeout(timer)
    signal.removeEventListener('abort', abort)
  }
}
