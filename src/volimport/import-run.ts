// One `volume import`, start to end, as kraft does it: scan the source, check the volume (it exists,
// is attached to nothing and is big enough), create the import instance through the API (request.ts),
// wait until it runs, TLS-dial its public port (the local gateway with the platform's CA, or
// `<fqdn>:42069` — the tunnel's RelayReach), run the session, and delete the instance whatever
// happened (a forced exit still tries, through onForcedExit).
import net from 'node:net'
import tls from 'node:tls'

import {
  ConflictError,
  ExitCode,
  NetworkError,
  NotFoundError,
  UkcError,
  type UkcClient,
  type Volume,
  allOrThrow,
  deleteInstances,
  errorForItem,
  getVolumes,
  isAttached,
  isFailed,
  waitInstances,
} from '../api/index.js'
import {type RelayInstance, type RelayReach, createRelayInstance, newCookie, publicAddress} from '../tunnel/index.js'
import {wireChunks, wireSize} from './entry-stream.js'
import {VOLIMPORT_PORT} from './protocol.js'
import {volimportCreateRequest} from './request.js'
import {runImportSession} from './session.js'
import {scanSource} from './source-tree.js'

/** How long the import instance may take to run, and its TLS port to answer. */
const RUNNING_WAIT_MS = 60_000
const DIAL_TIMEOUT_MS = 15_000

export interface VolumeImportOptions {
  api: UkcClient
  reach: RelayReach
  /** Name or UUID. */
  volume: string
  source: string
  image: string
  force: boolean
  /** The server's -t: seconds without data before it gives up. */
  timeoutS: number
  signal: AbortSignal
  onForcedExit: (cleanup: () => Promise<unknown>) => void
  /** A phase of the run (stderr). */
  phase: (text: string) => void
  /** Bytes sent of the total, while streaming. */
  onProgress?: (sentBytes: number, totalBytes: number) => void
  warn: (line: string) => void
}

export interface VolumeImportResult {
  volume: {uuid: string; name: string}
  source: string
  files: number
  directories: number
  symlinks: number
  /** Entries of the source that are not files, directories or symlinks (not imported). */
  skipped: number
  /** Bytes of file content imported. */
  bytes: number
  /** The volume after the import, as the import instance reported it. */
  free_bytes: number
  total_bytes: number
  instance: {uuid: string; name: string}
}

export async function importVolume(options: VolumeImportOptions): Promise<VolumeImportResult> {
  const {api, signal} = options
  const tree = await scanSource(options.source)
  for (const path of tree.skipped) options.warn(`skipping ${path}: not a file, directory or symbolic link`)
  const totalBytes = wireSize(tree)
  const volume = await importTarget(api, options.volume, totalBytes)

  const auth = newCookie()
  options.phase(`creating the import instance (${options.image})`)
  const request = volimportCreateRequest({image: options.image, volumeUuid: volume.uuid, auth, timeoutS: options.timeoutS})
  const instance = await createRelayInstance(api, request, `check that your account can publish services on port ${VOLIMPORT_PORT}`)
  let removal: Promise<void> | undefined
  const remove = (): Promise<void> => (removal ??= removeImportInstance(api, instance, options.warn))
  options.onForcedExit(remove)
  try {
    await untilRunning(api, instance, signal)
    options.phase(`connecting to the import instance at ${instance.fqdn}:${VOLIMPORT_PORT}`)
    const socket = await dialImportInstance(options.reach, instance.fqdn, signal)
    const abort = (): void => void socket.destroy()
    signal.addEventListener('abort', abort, {once: true})
    try {
      options.phase(`importing ${tree.entries.length} entries into ${volume.name}`)
      const session = await runImportSession({
        socket,
        auth,
        chunks: wireChunks(tree),
        totalBytes,
        force: options.force,
        warn: options.warn,
        onProgress: (sent) => options.onProgress?.(sent, totalBytes),
      })
      return {
        volume: {uuid: volume.uuid, name: volume.name},
        source: tree.root,
        files: tree.counts.file,
        directories: tree.counts.directory,
        symlinks: tree.counts.symlink,
        skipped: tree.skipped.length,
        bytes: tree.contentBytes,
        free_bytes: session.end.free,
        total_bytes: session.end.total,
        instance: {uuid: instance.uuid, name: instance.name},
      }
    } finally {
      signal.removeEventListener('abort', abort)
      socket.destroy()
    }
  } catch (error) {
    if (signal.aborted) throw new UkcError('interrupted: the import did not finish', {exitCode: ExitCode.Interrupted, code: 'INTERRUPTED', hint: 'what was written so far stays on the volume; run the import again to complete it'})
    throw error
  } finally {
    options.phase('deleting the import instance')
    await remove()
  }
}

/** The volume, if it can take the import: it exists, nothing has it attached, the data fits (kraft's check). */
async function importTarget(api: UkcClient, ref: string, totalBytes: number): Promise<Volume> {
  const [volume] = allOrThrow(await getVolumes(api, [ref]))
  if (!volume) throw new NotFoundError(`volume ${ref} not found`, 'see `ukc volume list`')
  const label = volume.name || volume.uuid
  if (isAttached(volume)) {
    const to = (volume.attached_to ?? []).map((i) => i.name || i.uuid).join(', ')
    throw new ConflictError(`volume ${label} is attached to ${to}: an import needs a volume that no instance uses`, `detach it first: ukc volume detach ${label}`)
  }
  if (volume.state && volume.state !== 'available') throw new ConflictError(`volume ${label} is ${volume.state}, not available`, `wait until \`ukc volume get ${label}\` says available`)
  const size = (volume.size_mb ?? 0) * 1024 * 1024
  if (size > 0 && totalBytes >= size) throw new ConflictError(`volume ${label} is too small for the source (${totalBytes} bytes to import, the volume holds ${size})`, 'create a bigger volume: ukc volume create --size SIZE')
  return volume
}

async function untilRunning(api: UkcClient, instance: RelayInstance, signal: AbortSignal): Promise<void> {
  const [state] = (await waitInstances(api, [instance.uuid], 'running', RUNNING_WAIT_MS, {signal})).items
  if (state && !isFailed(state) && state.state === 'running') return
  const what = state?.state ?? state?.message ?? 'gone'
  throw new UkcError(`the import instance ${instance.name} is ${what}, not running`, {hint: `see its console: ukc instance logs ${instance.name} (it is deleted when this run ends)`})
}

/** TLS to the instance's public port: SNI is its FQDN (never an IP literal); the local CA when local. */
function dialImportInstance(reach: RelayReach, fqdn: string, signal: AbortSignal): Promise<tls.TLSSocket> {
  const name = fqdn.replace(/\.$/, '')
  const {host, port} = publicAddress(reach, name, VOLIMPORT_PORT)
  return new Promise((resolve, reject) => {
    const socket = tls.connect({host, port, ...(net.isIP(name) ? {} : {servername: name}), ca: reach.ca})
    socket.setNoDelay(true)
    const fail = (error: Error): void => {
      clearTimeout(timer)
      signal.removeEventListener('abort', onAbort)
      socket.destroy()
      reject(new NetworkError(`cannot reach the import instance at ${name}:${VOLIMPORT_PORT}: ${error.message}`, `check that your account can publish services on port ${VOLIMPORT_PORT}`, error))
    }
    const onAbort = (): void => fail(new Error('interrupted'))
    const timer = setTimeout(() => fail(new Error(`no TLS connection within ${DIAL_TIMEOUT_MS / 1000} s`)), DIAL_TIMEOUT_MS)
    signal.addEventListener('abort', onAbort, {once: true})
    socket.once('error', fail)
    socket.once('secureConnect', () => {
      clearTimeout(timer)
      signal.removeEventListener('abort', onAbort)
      socket.off('error', fail)
      resolve(socket)
    })
  })
}

/**
 * Deletes it; already gone (delete-on-stop got there first) is fine. A network failure is tried once
 * more (a second delete of a deleted instance is only "not found"); anything else is a warning.
 */
async function removeImportInstance(api: UkcClient, instance: RelayInstance, warn: (line: string) => void): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      const [item] = (await deleteInstances(api, [instance.uuid])).items
      if (item && isFailed(item)) throw errorForItem(item)
      return
    } catch (error) {
      if (error instanceof NotFoundError) return
      if (error instanceof NetworkError && attempt < 2) continue
      warn(`could not delete the import instance ${instance.name}: ${(error as Error).message}; remove it with: ukc instance remove ${instance.name}`)
      return
    }
  }
}
