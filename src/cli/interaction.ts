// When ukc may talk to a person: prompts and spinners need TTYs on both ends and no CI.

function isTruthy(value: string | undefined): boolean {
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false'
}

export function isCI(env: NodeJS.ProcessEnv = process.env): boolean {
  return isTruthy(env.CI)
}

export function canPrompt(options: {noPrompt?: boolean; json?: boolean} = {}): boolean {
  if (options.noPrompt || options.json || isTruthy(process.env.UKC_NO_PROMPT) || isCI()) return false
  return Boolean(process.stdin.isTTY && process.stdout.isTTY)
}

/** Prompt functions behind an object so tests can replace them. */
export const prompts = {
  async confirm(message: string, defaultValue = false): Promise<boolean> {
    const {confirm} = await import('@inquirer/prompts')
    return confirm({message, default: defaultValue}, {output: process.stderr})
  },
  async select<T extends string>(message: string, choices: readonly T[]): Promise<T> {
    const {select} = await import('@inquirer/prompts')
    return select<T>({message, choices: choices.map((value) => ({value, name: value}))}, {output: process.stderr})
  },
  async secret(message: string): Promise<string> {
    const {password} = await import('@inquirer/prompts')
    return password({message, mask: '*'}, {output: process.stderr})
  },
}

/** A spinner on stderr when it is a TTY; otherwise one line per status. */
export class Spinner {
  private timer?: NodeJS.Timeout
  private frame = 0
  private text = ''
  private readonly live = Boolean(process.stderr.isTTY) && !isCI()
  private static readonly FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']

  constructor(private readonly quiet = false) {}

  start(text: string): void {
    this.text = text
    if (this.quiet) return
    if (!this.live) {
      process.stderr.write(`${text}\n`)
      return
    }
    this.timer ??= setInterval(() => this.draw(), 80)
    this.timer.unref()
    this.draw()
  }

  /** New text for a live spinner (a terminal); nothing elsewhere, so a log keeps the phases only. */
  progress(text: string): void {
    if (this.live && !this.quiet) this.start(text)
  }

  stop(final?: string): void {
    if (this.timer) {
      clearInterval(this.timer)
      this.timer = undefined
      process.stderr.write('\r\x1b[2K')
    }
    if (final && !this.quiet) process.stderr.write(`${final}\n`)
  }

  private draw(): void {
    process.stderr.write(`\r\x1b[2K${Spinner.FRAMES[this.frame++ % Spinner.FRAMES.length]} ${this.text}`)
  }
}
