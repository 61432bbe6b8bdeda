// One run of `ukc tunnel`, the same for every relay flavour: bind the listeners (a busy port fails
// before anything is created), resolve the targets, create the relay, connect, report readiness, serve
// until `signal` aborts, drain, and delete the relay. If the user forces the exit during any of it,
// the relay is still deleted (an `onForcedExit` clean-up).
import type {UkcClient} from '../api/index.js'
import {TunnelListeners} from './listeners.js'
import {type TunnelMapping, mappingLabel, resolveMappings} from './mappings.js'
import {deleteRelay} from './relay-instance.js'
import type {OpenRelay, RelayFlavour} from './relay-link.js'

/** What `ukc tunnel` prints once it forwards (with --json, as one line). */
export interface TunnelReady {
  status: 'ready'
  relay: {uuid: string; fqdn: string; image: string}
  mappings: Array<{local: string; target: string}>
}

export interface TunnelRunOptions {
  api: UkcClient
  mappings: TunnelMapping[]
  bind: string
  flavour: RelayFlavour
  idleTimeoutMs?: number
  drainMs: number
  connectMs: number
  /** Aborted to stop: the first Ctrl-C, SIGTERM, or standard input closing. */
  signal: AbortSignal
  /** Registers work that must still happen when the user forces the exit. */
  onForcedExit: (cleanup: () => Promise<unknown>) => void
  /** Spinner text; '' stops it. */
  progress: (text: string) => void
  /** Status lines (stderr). */
  log: (line: string) => void
  onReady: (ready: TunnelReady) => void
}

export async function runTunnel(options: TunnelRunOptions): Promise<void> {
  const {api, signal, progress, log} = options
  const listeners = new TunnelListeners({
    forwards: options.mappings.map((m) => ({bind: options.bind, localPort: m.localPort, label: mappingLabel(m)})),
    idleTimeoutMs: options.idleTimeoutMs,
    log,
  })
  const forwards = await listeners.listen()
  let opened: OpenRelay | undefined
  options.onForcedExit(async () => {
    if (opened) await deleteRelay(api, opened.relay.uuid)
  })
  try {
    if (signal.aborted) return
    progress('resolving targets')
    const targets = await resolveMappings(api, options.mappings)
    if (signal.aborted) return
    opened = await options.flavour.open(targets)
    listeners.use(opened)
    await opened.connect({deadlineMs: options.connectMs, signal})
    if (signal.aborted) return
    progress('')
    options.onReady({
      status: 'ready',
      relay: {uuid: opened.relay.uuid, fqdn: opened.relay.fqdn, image: opened.image},
      mappings: forwards.map((f) => ({local: f.local, target: f.label})),
    })
    await new Promise((resolve) => signal.addEventListener('abort', resolve, {once: true}))
    log(`stopping: waiting up to ${Math.round(options.drainMs / 1000)} s for ${listeners.openConnections} open connection(s); press Ctrl-C again to exit now`)
    await listeners.drain(options.drainMs)
  } finally {
    progress('')
    await listeners.close()
    opened?.close()
    if (opened) await removeRelay(options, opened)
  }
}

/** Deleting may fail (the API is down): the relay then stops by itself once heartbeats are missing. */
async function removeRelay(options: TunnelRunOptions, opened: OpenRelay): Promise<void> {
  const {name, uuid} = opened.relay
  options.progress(`deleting the relay instance ${name}`)
  await deleteRelay(options.api, uuid).catch((error: Error) =>
    options.log(`could not delete the relay ${name} (${uuid}): ${error.message}; it stops by itself once heartbeats are missing`),
  )
  options.progress('')
}
