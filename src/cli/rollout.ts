// kraft's rolling update for `instance create --service S --start`, done by the CLI (the API has no
// rollout): pick the service's existing instances the new one replaces (the qualifier), create the new
// instance(s), wait until they run, then drain and stop — or drain, stop and remove — the old ones.
// If the new instances do not come up in time, the old ones are left alone.
import {type Instance, type UkcClient, deleteInstances, stopInstances, waitInstances} from '../api/index.js'
import {parseReference} from './image-view.js'

/** Time beyond the drain timeout an old instance gets to reach `stopped` before it is removed. */
const DRAIN_GRACE_MS = 10_000

export const ROLLOUT_STRATEGIES = ['abort', 'stop', 'remove', 'keep'] as const
export type RolloutStrategy = (typeof ROLLOUT_STRATEGIES)[number]
/** `prompt` (the default) asks on a terminal which strategy to use. */
export const ROLLOUT_CHOICES = [...ROLLOUT_STRATEGIES, 'prompt'] as const
export const ROLLOUT_QUALIFIERS = ['image', 'name', 'all', 'none'] as const
export type RolloutQualifier = (typeof ROLLOUT_QUALIFIERS)[number]

/**
 * The instances a new one replaces: `image` — the same image name, whatever its tag or digest; `name` —
 * the same instance name; `all` — every instance of the service; `none` — none.
 */
export function qualifiedInstances(instances: Instance[], qualifier: RolloutQualifier, wanted: {image: string; name?: string}): Instance[] {
  switch (qualifier) {
    case 'image': {
      const name = parseReference(wanted.image).name
      return instances.filter((i) => i.image !== undefined && parseReference(i.image).name === name)
    }
    case 'name':
      return instances.filter((i) => wanted.name !== undefined && i.name === wanted.name)
    case 'all':
      return instances
    case 'none':
      return []
  }
}

export interface RolloutOptions {
  /** The instances just created. */
  created: string[]
  old: Instance[]
  strategy: 'stop' | 'remove'
  /** How long the new instances get to reach `running`. */
  waitMs: number
  /** How long each old instance may drain its connections before it stops. */
  drainMs: number
  note: (line: string) => void
  /** The command's settleBatch: reports failed items (stderr, exit code), returns the others. */
  settle: <I extends Instance>(items: I[]) => I[]
}

/** Whether the old instances were replaced (false: the new ones did not come up, the old ones stay). */
export async function completeRollout(client: UkcClient, options: RolloutOptions): Promise<boolean> {
  const {created, old} = options
  options.note(`waiting for the new instance(s) to be running before the rollout (up to ${options.waitMs} ms)`)
  const ready = options.settle((await waitInstances(client, created, 'running', options.waitMs)).items)
  if (ready.length < created.length || ready.some((i) => i.state !== undefined && i.state !== 'running')) {
    options.note(`aborting rollout: the new instance(s) are not running; the ${old.length} existing instance(s) are kept`)
    return false
  }
  const uuids = old.map((i) => i.uuid)
  options.note(`${options.strategy === 'stop' ? 'stopping' : 'removing'} ${old.length} existing instance(s)`)
  const stopped = options.settle((await stopInstances(client, uuids, {force: false, drainTimeoutMs: options.drainMs})).items)
  if (options.strategy === 'remove' && stopped.length > 0) {
    const ids = stopped.map((i) => i.uuid)
    // A delete force-stops what still runs: let the drain finish first (an instance still draining at the deadline is removed anyway).
    await waitInstances(client, ids, 'stopped', options.drainMs + DRAIN_GRACE_MS)
    options.settle((await deleteInstances(client, ids)).items)
  }
  return true
}
