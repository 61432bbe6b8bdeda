// The public face of the CLI kit used by commands.
export {BaseCommand, type BaseArgs, type BaseFlags, describeError} from './base-command.js'
export {ConfigStore, DEFAULT_PROFILE, type Profile} from './config.js'
export {Spinner, canPrompt, isCI, prompts, useColor} from './interaction.js'
export {type Column, OUTPUT_FORMATS, type OutputFormat, formatAge, formatAgo, formatBytes, renderList, renderTable} from './render.js'
export {type Target, clientFor, resolveTarget} from './target.js'
