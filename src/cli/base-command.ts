import {Command, Errors, Flags, type Interfaces} from '@oclif/core'

import {ExitCode, type ItemStatus, UkcClient, UkcError, errorForItem, isFailed} from '../api/index.js'
import {localDir} from '../local/index.js'
import {isMachineFormat, loadPalette, useColor} from './colour.js'
import {type ConsoleOutput, ConsoleReader, exitNotice} from './console-reader.js'
import {canPrompt, prompts} from './interaction.js'
import {type StopControl, runUntilStopped} from './long-running.js'
import {OUTPUT_FORMATS, type OutputFormat, loadYaml, renderYaml} from './render.js'
import {type Target, clientFor, resolveTarget} from './target.js'

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>
export type BaseArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>

/**
 * The one command base: global flags, target resolution (metro, token, the local platform),
 * output formats, colour, prompts and the mapping of typed errors to one line + hint + exit code.
 */
export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override enableJsonFlag = true

  static override baseFlags = {
    metro: Flags.string({
      summary: 'Unikraft Cloud metro (fra, dal, sfo, sin, was, legacy fra0…, local) or a full API URL.',
      env: 'UKC_METRO',
      helpGroup: 'GLOBAL',
    }),
    token: Flags.string({summary: 'Unikraft Cloud access token (base64 of user:secret).', env: 'UKC_TOKEN', helpGroup: 'GLOBAL'}),
    profile: Flags.string({summary: 'Saved profile to use.', env: 'UKC_PROFILE', helpGroup: 'GLOBAL'}),
    output: Flags.string({
      char: 'o',
      summary: 'Output format: table, list, json (API objects), yaml (the same as YAML) or raw (the API response body).',
      options: [...OUTPUT_FORMATS],
      env: 'UKC_OUTPUT',
      helpGroup: 'GLOBAL',
    }),
    'no-color': Flags.boolean({summary: 'Print no ANSI colours (also NO_COLOR, TERM=dumb, non-TTY).', helpGroup: 'GLOBAL'}),
    'no-prompt': Flags.boolean({summary: 'Never prompt; fail instead when input is missing.', env: 'UKC_NO_PROMPT', helpGroup: 'GLOBAL'}),
  }

  /** The format used when neither -o nor --json is given. */
  static defaultOutput: OutputFormat = 'table'

  protected flags!: BaseFlags<T>
  protected args!: BaseArgs<T>
  /** Every positional argument, in order (for commands with `strict = false`). */
  protected positional: string[] = []
  private target?: Target
  private apiClient?: UkcClient

  public override async init(): Promise<void> {
    await super.init()
    const {args, argv, flags} = await this.parse({
      flags: this.ctor.flags,
      baseFlags: (this.ctor as typeof BaseCommand).baseFlags,
      enableJsonFlag: this.ctor.enableJsonFlag,
      args: this.ctor.args,
      strict: this.ctor.strict,
    })
    this.flags = flags as BaseFlags<T>
    this.args = args as BaseArgs<T>
    this.positional = argv.map(String)
    await loadPalette(this.color) // colour is set up here, once, for every command
    if (this.format === 'yaml') await loadYaml()
  }

  /** The output format in effect; `--json` wins. */
  protected get format(): OutputFormat {
    if (this.jsonEnabled()) return 'json'
    return (this.flags.output as OutputFormat | undefined) ?? (this.ctor as typeof BaseCommand).defaultOutput
  }

  protected get color(): boolean {
    return useColor({noColor: this.flags['no-color'], json: isMachineFormat(this.format)})
  }

  protected get interactive(): boolean {
    return canPrompt({noPrompt: this.flags['no-prompt'], json: this.jsonEnabled()})
  }

  protected async resolveTarget(options: {autoStart?: boolean} = {}): Promise<Target> {
    this.target ??= await resolveTarget({
      metro: this.flags.metro,
      token: this.flags.token,
      profile: this.flags.profile,
      configDir: this.config.configDir,
      localDir: localDir(this.config.dataDir),
      autoStart: options.autoStart ?? true,
      notice: (line) => this.logToStderr(line),
    })
    return this.target
  }

  protected async client(): Promise<UkcClient> {
    this.apiClient ??= clientFor(await this.resolveTarget())
    return this.apiClient
  }

  /**
   * Runs the work of a long-running command under the one interrupt policy (long-running.ts): the
   * first Ctrl-C/SIGTERM aborts `control.signal` and the command exits 0 once the work returns; a
   * second one exits 130 after the `onForcedExit` clean-ups had their short chance.
   */
  protected untilStopped<R>(work: (control: StopControl) => Promise<R>, options: {watchStdin?: boolean} = {}): Promise<R> {
    return runUntilStopped(work, {watchStdin: options.watchStdin, log: (line) => process.stderr.write(`${line}\n`)})
  }

  private readyPrinted = false

  /**
   * The one ready line of a long-running command: under --json `result` as one JSON line, else the
   * human text, on stdout, once. Such a command returns nothing, so oclif prints nothing more.
   */
  protected ready(result: object, human: string): void {
    if (this.readyPrinted) return
    this.readyPrinted = true
    this.out(this.jsonEnabled() ? JSON.stringify(result) : human)
  }

  /** Data goes to stdout; `this.log` is silenced under --json by oclif. */
  protected out(text: string): void {
    if (text !== '') process.stdout.write(text.endsWith('\n') ? text : `${text}\n`)
  }

  /** Progress, notices and warnings go to stderr (never under --json). */
  protected note(text: string): void {
    if (!this.jsonEnabled()) process.stderr.write(`${text}\n`)
  }

  /**
   * Prints data in the format in effect: `table`/`list` through `render`, `json` and `yaml` as the
   * API objects (oclif prints the returned result itself under --json), `raw` as the API response body.
   */
  protected show(data: unknown, raw: string | undefined, render: (format: 'table' | 'list') => string, empty?: string): void {
    const format = this.format
    if (empty && Array.isArray(data) && data.length === 0 && (format === 'table' || format === 'list')) {
      // Said on stderr: a script reading the table sees no rows, a person sees why.
      this.note(empty)
    } else if (format === 'json') {
      if (!this.jsonEnabled()) this.out(JSON.stringify(data, null, 2))
    } else if (format === 'yaml') {
      this.out(renderYaml(data))
    } else if (format === 'raw') {
      this.out(raw ?? JSON.stringify(data))
    } else {
      this.out(render(format))
    }
  }

  /**
   * Partial success of a batch call: each failed item is reported on stderr as
   * `Error: <name>: <message>` and the exit code becomes the first failure's (4 not found, 5
   * conflict, …). Returns the items that succeeded.
   */
  protected settleBatch<I extends ItemStatus & {uuid?: string; name?: string}>(items: I[]): I[] {
    const failed = items.filter(isFailed)
    for (const item of failed) {
      const error = errorForItem(item)
      process.stderr.write(`Error: ${error.message}\n`)
      process.exitCode ||= error.exitCode
    }
    return items.filter((item) => !isFailed(item))
  }

  /**
   * Prints the console output of `instances` (`--tail`, `--prefix`), then follows it until Ctrl-C
   * with `follow` (instance logs and service logs alike). Returns what was read, for `--json`.
   */
  protected async showConsoles(client: UkcClient, instances: string[], options: {tail: number; prefix: boolean; follow: boolean}): Promise<ConsoleOutput[]> {
    const {prefix} = options
    const reader = new ConsoleReader({
      client,
      tail: options.tail,
      prefix,
      write: (text) => {
        if (!this.jsonEnabled()) this.out(text)
      },
      settle: (items) => this.settleBatch(items),
      exited: (output, instance) => {
        for (const line of exitNotice(output, instance, {prefix, bin: this.config.bin})) this.note(line)
      },
    })
    await reader.readHistory(instances)
    if (options.follow && reader.outputs.length > 0) await this.untilStopped(({signal}) => reader.follow(signal))
    else reader.flush()
    return reader.outputs
  }

  /** Asks on a TTY (unless `yes`); outside one it never asks and goes ahead, as kraft never asks. */
  protected async confirmDestructive(question: string, yes: boolean | undefined, flagHint = '--yes'): Promise<void> {
    if (yes) return
    if (!this.interactive) return
    if (!(await prompts.confirm(question, false))) {
      throw new UkcError('aborted', {exitCode: ExitCode.Usage, hint: `pass ${flagHint} to skip this question`, code: 'ABORTED'})
    }
  }

  /** `ukc instance create IMAGE [ARGS...] [FLAGS]`: the usage line a usage error points to. */
  private usageLine(): string {
    const ctor = this.ctor as typeof Command
    const usage = Array.isArray(ctor.usage) ? ctor.usage[0] : ctor.usage
    if (usage) return `${this.config.bin} ${usage}`
    const args = Object.values(ctor.args ?? {}).map((arg) => (arg.required ? arg.name.toUpperCase() : `[${arg.name.toUpperCase()}]`))
    const more = ctor.strict === false && args.length > 0 ? '...' : ''
    return [this.config.bin, ...(this.id ?? '').split(':'), ...args].join(' ') + more + ' [FLAGS]'
  }

  protected override async catch(error: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<never> {
    const {message, hint, exitCode, code} = describeError(error, this.usageLine())
    if (this.jsonEnabled()) {
      process.stdout.write(`${JSON.stringify({error: {code, message, ...(hint ? {hint} : {}), exitCode}})}\n`)
    } else {
      process.stderr.write(`Error: ${message}\n`)
      if (hint) process.stderr.write(`Try: ${hint}\n`)
      if (process.env.DEBUG && error.stack) process.stderr.write(`${error.stack}\n`)
    }
    process.exitCode = exitCode
    throw new Errors.ExitError(exitCode)
  }
}

/**
 * Command ids for every combination of a topic's names and a verb's names, minus the canonical
 * one (for `static hiddenAliases`: kraft's aliases work without crowding the help): `commandAliases(['instance', 'inst'], ['list', 'ls'])` → `instance:ls`, `inst:list`, `inst:ls`.
 */
export function commandAliases(topics: readonly string[], verbs: readonly string[]): string[] {
  const ids = topics.flatMap((topic) => verbs.map((verb) => `${topic}:${verb}`))
  return ids.slice(1)
}

export function describeError(error: Error & {exitCode?: number; oclif?: {exit?: number}; args?: Array<{name?: string}>}, usage?: string): {
  message: string
  hint?: string
  exitCode: number
  code: string
} {
  if (error instanceof UkcError) return {message: error.message, hint: error.hint, exitCode: error.exitCode, code: error.code}
  if (error.name === 'ExitPromptError' || error.name === 'AbortPromptError') {
    return {message: 'interrupted', exitCode: ExitCode.Interrupted, code: 'INTERRUPTED'}
  }
  if (typeof error.oclif?.exit === 'number' && error.message.startsWith('Missing ') && Array.isArray(error.args)) {
    // oclif's RequiredArgsError: its message lists descriptions and a note on multi-value flags.
    const names = error.args.map((arg) => (arg.name ?? 'argument').toUpperCase())
    return {message: `missing ${names.length === 1 ? 'argument' : 'arguments'} ${names.join(', ')}`, hint: usage ? `${usage}  (more: --help)` : 'see `--help` for the usage', exitCode: ExitCode.Usage, code: 'USAGE'}
  }
  if (typeof error.oclif?.exit === 'number') {
    // oclif's own parse errors (unknown flag, missing argument, bad option): usage errors.
    // oclif lists several problems under a heading line ("The following errors occurred:").
    const lines = error.message.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('See more help'))
    const firstLine = lines[0]?.endsWith(':') && lines.length > 1 ? `${lines[0]} ${lines.slice(1).join('; ')}` : (lines[0] ?? error.message)
    const exitCode = error.oclif.exit === 2 || error.oclif.exit === 1 ? ExitCode.Usage : error.oclif.exit
    return {message: firstLine, hint: 'see `--help` for the usage', exitCode, code: 'USAGE'}
  }
  return {message: `unexpected error: ${error.message}`, hint: 'run again with DEBUG=1 for details', exitCode: ExitCode.Unexpected, code: 'UNEXPECTED'}
}
