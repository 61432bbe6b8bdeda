// `ukc` as a process, running the commands from src (what bin/dev.js is meant to do; see
// harness.ts for why oclif is given the src command dir and a version that skips the manifest).
import fs from 'node:fs'
import path from 'node:path'

import {flush, handle, run} from '@oclif/core'

const root = path.resolve(import.meta.dirname, '..', '..')
const pjson = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {version: string; oclif: Record<string, unknown>}
process.removeAllListeners('warning')
process.on('warning', (warning) => {
  if (!warning.message.startsWith('Mismatched version in ukc plugin manifest')) process.stderr.write(`${warning.name}: ${warning.message}\n`)
})
const loadOptions = {root, pjson: {...pjson, version: '0.0.0-src', oclif: {...pjson.oclif, commands: './src/commands', hooks: {command_not_found: './src/cli/command-not-found'}}}} as unknown as Parameters<typeof run>[1]
await run(process.argv.slice(2), loadOptions)
  .then(() => flush())
  .catch(async (error: Error) => handle(error))
