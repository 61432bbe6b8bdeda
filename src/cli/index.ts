// The public face of the CLI kit used by commands.
export {BaseCommand, type BaseArgs, type BaseFlags, commandAliases, describeError} from './base-command.js'
export {ConfigStore, DEFAULT_PROFILE, type Profile} from './config.js'
export {Spinner, canPrompt, isCI, prompts, useColor} from './interaction.js'
export {type Column, OUTPUT_FORMATS, type OutputFormat, formatAge, formatAgo, formatBytes, renderList, renderTable} from './render.js'
export {type Target, clientFor, resolveTarget} from './target.js'
export {HANDLERS, formatPortMapping, normalizeImage, parseDomains, parseDuration, parseEnv, parseMemory, parsePortMapping, parsePortMappings, parseVolume} from './parsers.js'
export {INSTANCE_LIST_COLUMNS, INSTANCE_TABLE_COLUMNS, INSTANCE_TOPICS, INSTANCE_TRANSITION_COLUMNS, formatBootTime, formatMemory, instanceFqdn, instanceStatus, loadPalette, renderCreateSummary, renderInstances, renderTransitions, stopOrigin, stopReasonText} from './instance-view.js'
export {SERVICE_LIST_COLUMNS, SERVICE_TABLE_COLUMNS, SERVICE_TOPICS, renderServices} from './service-view.js'
