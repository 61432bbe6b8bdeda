// Removing everything of the user on one metro, in the order the API allows: instances first (a
// service refuses deletion while instances are attached, a volume while it is attached), waiting until
// they are gone, then services, volumes and certificates (a certificate refuses while a service uses
// it). Without `force` the first step that fails stops the purge; with it, failures are reported and
// the next steps still run (kraft's --force).
import {
  type Instance,
  type ItemStatus,
  NotFoundError,
  type PurgeItem,
  type PurgeKind,
  type ServiceGroup,
  type UkcClient,
  UkcError,
  deleteInstances,
  deletePurgeable,
  deleteServices,
  errorForItem,
  getInstances,
  getServices,
  isFailed,
  listPurgeable,
  waitInstancesGone,
} from '../api/index.js'

export interface PurgeResult {
  metro: string
  instances: Instance[]
  services: ServiceGroup[]
  volumes: PurgeItem[]
  certificates: PurgeItem[]
}

export interface PurgeOptions {
  force: boolean
  /** How long to wait for deleted instances to be gone. */
  waitTimeoutMs: number
  /** Progress lines (stderr). */
  note: (line: string) => void
  /** A failure that did not stop the purge (stderr, and the exit code). */
  report: (error: UkcError) => void
}

type Named = ItemStatus & {uuid?: string; name?: string}

export async function purgeMetro(client: UkcClient, metro: string, options: PurgeOptions): Promise<PurgeResult> {
  const result: PurgeResult = {metro, instances: [], services: [], volumes: [], certificates: []}
  /** One kind's removal; with force, a failure of the whole step is reported and the purge goes on. */
  const step = async <T extends Named>(work: () => Promise<T[]>): Promise<T[]> => {
    try {
      return await work()
    } catch (error) {
      if (!options.force || !(error instanceof UkcError)) throw error
      options.report(error)
      return []
    }
  }
  /** The items a call answered for; failed ones are reported, and stop the purge without force. */
  const settle = <T extends Named>(kind: string, answered: T[], done = 'removed'): T[] => {
    const failed = answered.filter(isFailed)
    for (const item of failed) options.report(errorForItem(item))
    if (failed.length > 0 && !options.force) {
      const first = errorForItem(failed[0] as T)
      throw new UkcError(`purge of ${metro} stopped: ${failed.length} ${kind} could not be ${done}`, {exitCode: first.exitCode, code: first.code, hint: 'fix what is reported above, or pass --force to go on past failures'})
    }
    return answered.filter((item) => !isFailed(item))
  }

  result.instances = await step(async () => {
    const uuids = settle('instance(s)', (await getInstances(client)).items, 'listed').map((i) => i.uuid)
    if (uuids.length === 0) return []
    options.note(`${metro}: removing ${uuids.length} instance(s)`)
    const removed = settle('instance(s)', (await deleteInstances(client, uuids)).items)
    await waitInstancesGone(client, removed.map((i) => i.uuid), options.waitTimeoutMs)
    return removed
  })
  result.services = await step(async () => {
    const ids = settle('service(s)', (await getServices(client)).items, 'listed').map((s) => s.uuid)
    if (ids.length === 0) return []
    options.note(`${metro}: removing ${ids.length} service(s)`)
    return settle('service(s)', (await deleteServices(client, ids)).items)
  })
  for (const kind of ['volumes', 'certificates'] as const) {
    result[kind] = await step(() => purgeKind(client, metro, kind, options, settle))
  }
  return result
}

async function purgeKind(client: UkcClient, metro: string, kind: PurgeKind, options: PurgeOptions, settle: <T extends Named>(kind: string, items: T[], done?: string) => T[]): Promise<PurgeItem[]> {
  let listed: PurgeItem[]
  try {
    listed = (await listPurgeable(client, kind)).items
  } catch (error) {
    // An API without the endpoint (HTTP 404, e.g. an older local platform) has none of them to remove.
    if (!(error instanceof NotFoundError)) throw error
    options.note(`${metro}: skipping ${kind}: the API has no /${kind} endpoint (${error.message})`)
    return []
  }
  const ids = settle(`${kind.slice(0, -1)}(s)`, listed, 'listed').map((i) => i.uuid)
  if (ids.length === 0) return []
  options.note(`${metro}: removing ${ids.length} ${kind.slice(0, -1)}(s)`)
  return settle(`${kind.slice(0, -1)}(s)`, (await deletePurgeable(client, kind, ids)).items)
}
