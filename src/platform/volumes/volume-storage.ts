// Where volumes live: `<dataDir>/volumes/<uuid>/data/` is what an instance sees at its mount path.
// Two backends, chosen once per platform (docs/platform-runtime.md, "Volumes"):
//   ext4       (root, with mkfs.ext4 and mount): `volume.ext4` beside `data/`, an ext4 image of the
//              volume's size, loop-mounted on `data/` from the first boot that uses it until it is
//              detached, deleted or the platform stops; read-only = a read-only mount.
//   directory  (otherwise): `data/` is a plain directory; the size is checked by UsageWatch;
//              read-only = a read-only bind mount as root, mode bits plus a check without.
// Operations on one volume run one at a time. The owner (the daemon) calls close() at stop; a daemon
// killed with -9 leaves its mounts, which recover() at the next start unmounts.
import fs from 'node:fs'
import path from 'node:path'

import {platformIsPrivileged, type RunAs} from '../runtime/identity.js'
import {removeTree} from '../store/remove-tree.js'
import type {Logger} from '../types.js'
import {ext4Tools, formatImage, mountImage, remount} from './ext4-image.js'
import {mountAt, runMountTool, unmountAllUnder} from './mount-table.js'
import {UsageWatch} from './usage-watch.js'

export type VolumeBackend = 'ext4' | 'directory'
export const VOLUMES_DIR = 'volumes'
const IMAGE_FILE = 'volume.ext4'
/** Left in a directory volume whose write bits were removed for a read-only mount (no root). */
const WRITE_BITS_REMOVED = 'write-bits-removed'

export interface VolumeStorageOptions {
  dataDir: string
  /** `auto` (default): ext4 when the platform is root and the tools exist, else directory. */
  backend?: 'auto' | VolumeBackend
  log: Logger
  /** A directory volume outgrew its size, or changed while read-only; `message` is for the instance log. */
  onViolation?: (uuid: string, message: string) => void
  /** How often directory volumes in use are measured (default 1 s). */
  checkIntervalMs?: number
}

export interface MountRequest {
  sizeMb: number
  /** Who the instance runs as: the volume's files are given to it. */
  runAs: RunAs | undefined
  readonly: boolean
}

async function walk(dir: string, visit: (file: string) => Promise<void>): Promise<void> {
  await visit(dir)
  for (const entry of await fs.promises.readdir(dir, {withFileTypes: true})) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) await walk(full, visit)
    else await visit(full)
  }
}

export class VolumeStorage {
  readonly backend: VolumeBackend
  readonly root: string
  private readonly privileged = platformIsPrivileged()
  private readonly mkfs: string | undefined
  private readonly watches = new Map<string, UsageWatch>()
  private readonly queues = new Map<string, Promise<unknown>>()

  constructor(private readonly options: VolumeStorageOptions) {
    this.root = path.join(options.dataDir, VOLUMES_DIR)
    const tools = this.privileged ? ext4Tools() : undefined
    const wanted = options.backend ?? 'auto'
    if (wanted === 'ext4' && !tools) throw new Error('ext4 volumes need root, mkfs.ext4 (e2fsprogs) and mount (util-linux)')
    this.backend = wanted === 'auto' ? (tools ? 'ext4' : 'directory') : wanted
    this.mkfs = tools?.mkfs
    // Instance processes pass through (not list) on their way to their volume's data dir.
    fs.mkdirSync(this.root, {recursive: true, mode: this.privileged ? 0o711 : 0o700})
  }

  /** What the instance sees at its mount path. */
  dataOf(uuid: string): string {
    return path.join(this.root, uuid, 'data')
  }

  /** Makes an empty volume of `sizeMb` MiB (anything left of an earlier attempt is replaced). */
  create(uuid: string, sizeMb: number): Promise<void> {
    return this.serial(uuid, async () => {
      const dir = path.join(this.root, uuid)
      await unmountAllUnder(dir, this.options.log)
      await removeTree(dir)
      await fs.promises.mkdir(dir, {mode: this.privileged ? 0o711 : 0o700})
      await fs.promises.mkdir(this.dataOf(uuid), {mode: 0o700})
      if (this.backend === 'directory') return
      const image = path.join(dir, IMAGE_FILE)
      await formatImage(image, sizeMb, this.mkfs as string)
      // A new volume is empty, like a fresh one on the real cloud: no lost+found (e2fsck makes it
      // again when it needs one), so that e.g. initdb accepts it as a data directory.
      await mountImage(image, this.dataOf(uuid), false)
      try {
        await fs.promises.rmdir(path.join(this.dataOf(uuid), 'lost+found'))
      } finally {
        await unmountAllUnder(this.dataOf(uuid), this.options.log)
      }
    })
  }

  /**
   * Makes the volume usable by an instance and returns its data dir: mounted (ext4), its files
   * given to the instance's identity, read-only or not as asked, watched (directory).
   */
  mount(uuid: string, request: MountRequest): Promise<string> {
    return this.serial(uuid, async () => {
      const data = this.dataOf(uuid)
      if (!fs.existsSync(data)) throw new Error('its storage is missing')
      const image = path.join(this.root, uuid, IMAGE_FILE)
      if (fs.existsSync(image)) {
        if (!this.privileged) throw new Error('it is an ext4 image, and mounting it needs a platform running as root')
        if (!mountAt(data)) await mountImage(image, data, false)
        await this.giveTo(data, request.runAs, () => remount(data, false))
        await remount(data, request.readonly)
        return data
      }
      await this.mountDirectory(uuid, data, request)
      return data
    })
  }

  /** Unmounts it and stops watching it (after a detach, or when its instance is deleted). */
  release(uuid: string): Promise<void> {
    return this.serial(uuid, () => this.releaseNow(uuid))
  }

  /** Deletes it, mounted or not. */
  destroy(uuid: string): Promise<void> {
    return this.serial(uuid, async () => {
      await this.releaseNow(uuid)
      await removeTree(path.join(this.root, uuid))
    })
  }

  /** At start: unmounts what a killed daemon left mounted, deletes storage no volume record names. */
  async recover(known: Set<string>): Promise<void> {
    const unmounted = await unmountAllUnder(this.root, this.options.log)
    if (unmounted.length > 0) this.options.log(`unmounted ${unmounted.length} volume mount(s) left by the previous daemon`)
    for (const name of await fs.promises.readdir(this.root)) {
      if (!known.has(name)) await removeTree(path.join(this.root, name))
    }
  }

  /** At platform stop (after the instances stopped): every watch closed, every volume unmounted. */
  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((queued) => queued.catch(() => undefined)))
    for (const watch of this.watches.values()) watch.close()
    this.watches.clear()
    await unmountAllUnder(this.root, this.options.log)
  }

  // ----

  private async mountDirectory(uuid: string, data: string, request: MountRequest): Promise<void> {
    this.watches.get(uuid)?.close()
    this.watches.delete(uuid)
    const marker = path.join(this.root, uuid, WRITE_BITS_REMOVED)
    if (this.privileged) {
      await unmountAllUnder(data, this.options.log)
      await this.giveTo(data, request.runAs)
      if (request.readonly) {
        await runMountTool('mount', ['--bind', data, data])
        await runMountTool('mount', ['-o', 'remount,bind,ro,nosuid,nodev', data])
      }
    } else if (request.readonly !== fs.existsSync(marker)) {
      // Read-only by mode bits: every write bit off; read-write again: the owner's write bit back.
      await walk(data, async (file) => {
        const stat = await fs.promises.lstat(file)
        if (!stat.isSymbolicLink()) await fs.promises.chmod(file, request.readonly ? stat.mode & ~0o222 : stat.mode | 0o200)
      })
      if (request.readonly) await fs.promises.writeFile(marker, '')
      else await fs.promises.rm(marker, {force: true})
    }
    const watch = new UsageWatch({
      dir: data,
      sizeMb: request.sizeMb,
      frozen: request.readonly && !this.privileged,
      intervalMs: this.options.checkIntervalMs ?? 1000,
      onViolation: (message) => this.options.onViolation?.(uuid, message),
    })
    this.watches.set(uuid, watch)
  }

  private async releaseNow(uuid: string): Promise<void> {
    this.watches.get(uuid)?.close()
    this.watches.delete(uuid)
    await unmountAllUnder(this.dataOf(uuid), this.options.log)
  }

  /**
   * The volume's files belong to the instance's identity (`runAs`), the data dir is private to it
   * (0700: Postgres insists). Only a root platform changes owners; nothing to do when they match.
   */
  private async giveTo(data: string, runAs: RunAs | undefined, beforeChange?: () => Promise<void>): Promise<void> {
    if (!this.privileged) return
    const uid = runAs?.uid ?? 0
    const gid = runAs?.gid ?? 0
    const stat = await fs.promises.stat(data)
    if (stat.uid === uid && stat.gid === gid) return
    await beforeChange?.()
    await walk(data, (file) => fs.promises.lchown(file, uid, gid))
    await fs.promises.chmod(data, 0o700)
  }

  private serial<T>(uuid: string, operation: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(uuid) ?? Promise.resolve()
    const next = previous.catch(() => undefined).then(operation)
    this.queues.set(uuid, next)
    void next.finally(() => {
      if (this.queues.get(uuid) === next) this.queues.delete(uuid)
    }).catch(() => undefined)
    return next
  }
}
