// How an instance finds its volumes. Instances are host processes that share the host's
// filesystem, so a volume cannot appear at its mount path (`at`) itself; instead each mount is a
// host directory, and paths inside the instance are mapped to it:
//   - host-backed images use it where their official images keep data (runtime/servers/*);
//   - every process gets `UKC_VOLUME_<AT>` per mount (`/data` → UKC_VOLUME_DATA);
//   - user images write `${VOLUME:/data}` in their command (images.json), replaced by the host
//     directory of the volume that covers that path (the deepest one), or — no volume there — by a
//     directory of the instance's own (gone with the instance, like a unikernel's root filesystem).
export interface VolumeMount {
  name: string
  /** Absolute, normalised (no `.`, `..`, `//` or trailing slash but `/` itself). */
  at: string
  readonly: boolean
  /** The host directory the instance uses for `at`. */
  hostPath: string
  /** The volume's size (what an image that reports free space, like utils/volimport, needs). */
  sizeMb?: number
}

function covers(at: string, guestPath: string): boolean {
  return at === '/' || guestPath === at || guestPath.startsWith(`${at}/`)
}

/** The deepest mount that covers `guestPath` (the one an instance would see there). */
export function volumeCovering(mounts: readonly VolumeMount[], guestPath: string): VolumeMount | undefined {
  return mounts.filter((m) => covers(m.at, guestPath)).sort((a, b) => b.at.length - a.at.length)[0]
}

/** The host path for `guestPath` through the deepest mount that covers it; undefined when none does. */
export function volumePathOf(mounts: readonly VolumeMount[], guestPath: string): string | undefined {
  const mount = volumeCovering(mounts, guestPath)
  if (!mount) return undefined
  const rest = mount.at === '/' ? guestPath : guestPath.slice(mount.at.length)
  return `${mount.hostPath}${rest === '/' ? '' : rest}`
}

/** `UKC_VOLUME_<AT>`: the mount path upper-cased, every run of other characters one `_`; `/` is ROOT. */
export function volumeVariable(at: string): string {
  const name = at.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_|_$/g, '').toUpperCase()
  return `UKC_VOLUME_${name || 'ROOT'}`
}

export function volumeEnvironment(mounts: readonly VolumeMount[]): Record<string, string> {
  return Object.fromEntries(mounts.map((m) => [volumeVariable(m.at), m.hostPath]))
}

/** Replaces every `${VOLUME:/path}` in `text` with `resolve('/path')`; `.` and `..` are refused. */
export function substituteVolumePaths(text: string, resolve: (guestPath: string) => string): string {
  return text.replace(/\$\{VOLUME:(\/[^}]*)\}/g, (_, guestPath: string) => {
    if (guestPath.split('/').some((part) => part === '.' || part === '..')) throw new Error(`\${VOLUME:${guestPath}}: the path may not contain . or ..`)
    return resolve(guestPath.replace(/\/+/g, '/').replace(/(.)\/$/, '$1'))
  })
}
