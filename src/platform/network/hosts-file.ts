// The per-user `.internal` name map: a hosts-format file (`IP NAME.internal` per line) that the
// platform rewrites atomically, and the resolver that built-in images and the tunnel relay use.
// Kept dependency-free so instance programs can import it cheaply.
import fs from 'node:fs'
import path from 'node:path'

export interface InternalName {
  name: string // instance name, without `.internal`
  ip: string
}

/** Writes the map to `file` atomically (temp file + rename) so readers never see half a file. */
export function writeHostsFile(file: string, names: InternalName[]): void {
  fs.mkdirSync(path.dirname(file), {recursive: true, mode: 0o755})
  const lines = names
    .slice()
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((entry) => `${entry.ip} ${entry.name.toLowerCase()}.internal`)
  const temp = `${file}.${process.pid}.tmp`
  fs.writeFileSync(temp, lines.length > 0 ? `${lines.join('\n')}\n` : '', {mode: 0o644})
  fs.renameSync(temp, file)
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
