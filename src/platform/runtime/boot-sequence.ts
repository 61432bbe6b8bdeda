// The steps of booting one instance, as the supervisor's `boot` effect runs them: wait for a
// retired process to release its port, kill leftovers of a crashed platform, open the private
// endpoints, ask the image for its launch plan, spawn; then wait until the process serves its port
// (or the boot timeout passes). Each step checks the abort signal: a stop or an exit during the boot
// aborts it.
import type {InstanceEndpoints} from '../network/index.js'
import type {InstanceRecord} from '../types.js'
import type {ResolvedImage} from './catalog.js'
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
  image: ResolvedImage
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

/** Everything up to a spawned process; throws the user-facing reason when it cannot get there. */
export async function prepareAndSpawn(input: BootInput, signal: AbortSignal): Promise<Spawned> {
  const {record, image, endpoints, place} = input
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
  const context = launchContextOf(record, image, place)
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

export type Readiness = 'ready' | 'timeout' | 'aborted'

/** Waits until the process serves the image's port (or the plan's own check passes). */
export async function awaitReadiness(record: InstanceRecord, image: ResolvedImage, plan: LaunchPlan, timeoutMs: number, signal: AbortSignal): Promise<Readiness> {
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
