// oclif's command_not_found hook: one line naming the closest command, whether or not a prompt can be
// shown (scripts and CI see the suggestion too), exit 127. On an interactive terminal it offers to run
// the suggestion. Replaces @oclif/plugin-not-found, which only suggests through a TTY prompt.
import type {Hook} from '@oclif/core'
import {closest, distance} from 'fastest-levenshtein'

import {ExitCode} from '../api/index.js'
import {canPrompt, prompts} from './interaction.js'

const spaced = (id: string): string => id.replaceAll(':', ' ')

const hook: Hook<'command_not_found'> = async function (options) {
  const {config, id} = options
  const argv = options.argv ?? []
  const ids = [...new Set(config.commands.filter((c) => !c.hidden).flatMap((c) => [c.id, ...c.aliases, ...(c.hiddenAliases ?? [])]))]
  const guess = ids.length > 0 ? closest(id, ids) : undefined
  // A guess that shares little with what was typed helps nobody.
  const suggestion = guess !== undefined && distance(id, guess) <= Math.max(2, Math.floor(id.length / 2)) ? guess : undefined
  const message = `"${spaced(id)}" is not a ${config.bin} command.${suggestion ? ` Did you mean "${spaced(suggestion)}"?` : ''}`
  const hint = suggestion ? `${config.bin} ${spaced(suggestion)} --help (every command: ${config.bin} help)` : `${config.bin} help lists every command`
  if (argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify({error: {code: 'COMMAND_NOT_FOUND', message, hint, exitCode: ExitCode.UnknownCommand}})}\n`)
  } else {
    process.stderr.write(`Error: ${message}\nTry: ${hint}\n`)
  }
  if (suggestion && canPrompt({json: argv.includes('--json')}) && (await prompts.confirm(`Run ${config.bin} ${spaced(suggestion)}?`, false).catch(() => false))) {
    await config.runCommand(suggestion, argv)
    return
  }
  process.exit(ExitCode.UnknownCommand)
}

export default hook
