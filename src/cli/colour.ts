// When ukc prints ANSI colours, decided in one place. `bin/run.js` calls `plainRequested` before any
// colour library loads (chalk reads FORCE_COLOR once, at import); commands then ask `useColor`, and
// `loadPalette` loads chalk only when colour is on. Dependency-free: bin/run.js imports it first.

/** -o/--output values that are data for programs, never painted. */
const MACHINE_FORMATS = new Set(['json', 'raw', 'yaml'])

export function isMachineFormat(format: string | undefined): boolean {
  return format !== undefined && MACHINE_FORMATS.has(format)
}

function outputFormat(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (arg === '--') break
    if (arg === '-o' || arg === '--output') return argv[i + 1]
    if (arg.startsWith('--output=')) return arg.slice('--output='.length)
    if (arg.startsWith('-o') && arg.length > 2 && !arg.startsWith('-o-')) return arg.slice(2).replace(/^=/, '')
  }
  return undefined
}

/** NO_COLOR, TERM=dumb, a non-TTY stdout, --no-color, --json and -o json|raw|yaml all mean plain text. */
export function plainRequested(argv: readonly string[], env: NodeJS.ProcessEnv, stdoutIsTTY: boolean): boolean {
  if ('NO_COLOR' in env || env.TERM === 'dumb' || env.FORCE_COLOR === '0' || !stdoutIsTTY) return true
  if (argv.includes('--no-color') || argv.includes('--json')) return true
  return isMachineFormat(outputFormat(argv) ?? env.UKC_OUTPUT)
}

/** The same decision for a command whose flags are parsed. */
export function useColor(options: {noColor?: boolean; json?: boolean} = {}): boolean {
  if (options.noColor || options.json) return false
  return !plainRequested([], process.env, Boolean(process.stdout.isTTY))
}

type Paint = (text: string) => string
export interface Palette {
  green: Paint
  cyan: Paint
  red: Paint
  yellow: Paint
  bold: Paint
  dim: Paint
}

const same: Paint = (text) => text
const PLAIN: Palette = {green: same, cyan: same, red: same, yellow: same, bold: same, dim: same}
let current: Palette = PLAIN

/** The palette in effect: plain until `loadPalette(true)`. */
export function palette(): Palette {
  return current
}

/** Loads chalk when `color` is on (once per process); otherwise the palette stays plain. */
export async function loadPalette(color: boolean): Promise<Palette> {
  if (!color) return (current = PLAIN)
  if (current !== PLAIN) return current
  const {default: chalk} = await import('chalk')
  current = {green: chalk.green, cyan: chalk.cyan, red: chalk.red, yellow: chalk.yellow, bold: chalk.bold, dim: chalk.dim}
  return current
}
