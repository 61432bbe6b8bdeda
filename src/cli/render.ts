// One renderer for every list-shaped output: `table` (cli-table3, plain borders), `list` (kraft's
// right-aligned key: value blocks), `yaml` (the API objects, through the `yaml` library), and the
// helpers they use.
import Table from 'cli-table3'

export type OutputFormat = 'table' | 'list' | 'json' | 'yaml' | 'raw'
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['table', 'list', 'json', 'yaml', 'raw']

let yamlLibrary: typeof import('yaml') | undefined

/** Loads `yaml` once, and only for `-o yaml` (BaseCommand.init): no other output needs it. */
export async function loadYaml(): Promise<void> {
  yamlLibrary ??= await import('yaml')
}

/** Data as YAML, lines never folded (so `grep` sees whole values); needs loadYaml() first. */
export function renderYaml(data: unknown): string {
  if (!yamlLibrary) throw new Error('renderYaml called before loadYaml')
  return yamlLibrary.stringify(data, {lineWidth: 0})
}

export interface Column<T> {
  header: string
  value: (row: T) => string
  /** Shown in the table format; every column is shown in the list format. */
  table?: boolean
  color?: (text: string, row: T) => string
}

export function renderTable<T>(columns: Column<T>[], rows: T[], options: {color?: boolean} = {}): string {
  const shown = columns.filter((c) => c.table !== false)
  const table = new Table({
    head: shown.map((c) => c.header),
    style: {head: [], border: [], 'padding-left': 0, 'padding-right': 2, compact: true},
    chars: {
      top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
      left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '',
    },
  })
  for (const row of rows) {
    table.push(shown.map((c) => {
      const text = c.value(row)
      return options.color && c.color ? c.color(text, row) : text
    }))
  }
  return table.toString().split('\n').map((line) => line.trimEnd()).join('\n')
}

/** kraft's `list` format: per row a block of right-aligned lower-case keys, multi-values on continuation lines. */
export function renderList<T>(columns: Column<T>[], rows: T[], options: {color?: boolean} = {}): string {
  const keys = columns.map((c) => c.header.toLowerCase())
  const width = Math.max(...keys.map((k) => k.length))
  return rows
    .map((row) =>
      columns
        .map((c, i) => {
          const text = c.value(row)
          const parts = text.split(', ')
          const first = options.color && c.color ? c.color(parts[0] ?? '', row) : parts[0]
          const pad = ' '.repeat(width + 2)
          return [`${keys[i].padStart(width)}: ${first}`, ...parts.slice(1).map((p) => `${pad}${p}`)].join('\n').trimEnd()
        })
        .join('\n'),
    )
    .join('\n\n')
}

/** 134217728 → "128 MiB" (humanize.IBytes, as kraft prints). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  if (unit === 0) return `${value} B`
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`
}

/** Milliseconds → "2hrs 3mins", "45s", "3 days" (short, for STATUS cells). */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000))
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}min${m === 1 ? '' : 's'}`
  const h = Math.floor(m / 60)
  if (h < 24) return `${h}hr${h === 1 ? '' : 's'} ${m % 60}min${m % 60 === 1 ? '' : 's'}`
  const d = Math.floor(h / 24)
  return `${d} day${d === 1 ? '' : 's'}`
}

/** A past timestamp as "5 minutes ago". */
export function formatAgo(iso: string | undefined, now = Date.now()): string {
  if (!iso) return ''
  const t = Date.parse(iso)
  if (Number.isNaN(t)) return iso
  return `${formatAge(now - t)} ago`
}
