// The local platform's `.internal` names: per user, a hosts-format file (`IP NAME.internal` per line)
// that the platform rewrites atomically and whose path instances get as UKC_HOSTS_FILE. The format
// and its resolver live here, dependency-free, because instance programs (the tunnel relays) read it.
import fs from 'node:fs'

export interface InternalName {
  name: string // instance name, without `.internal`
  ip: string
}

/** The file's text for `names` (sorted, lower case). */
export function formatInternalNames(names: InternalName[]): string {
  const lines = names
    .slice()
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((entry) => `${entry.ip} ${entry.name.toLowerCase()}.internal`)
  return lines.length > 0 ? `${lines.join('\n')}\n` : ''
}

/**
 * The private IP of `name` in the network described by `hostsFile`, or undefined. Accepts
 * `web.internal`, `web.internal.` and a bare `web`; names are case-insensitive.
 */
export function resolveInternal(hostsFile: string, name: string): string | undefined {
  let text: string
  try {
    text = fs.readFileSync(hostsFile, 'utf8')
  } catch {
    return undefined
  }
  let wanted = name.trim().toLowerCase().replace(/\.$/, '')
  if (!wanted.endsWith('.internal')) wanted += '.internal'
  for (const line of text.split('\n')) {
    const [ip, ...hosts] = line.trim().split(/\s+/)
    if (ip && !ip.startsWith('#') && hosts.includes(wanted)) return ip
  }
  return undefined
}
