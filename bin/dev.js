#!/usr/bin/env node
// Runs the TypeScript sources. tsx is registered here, so `node bin/dev.js` works as well as the
// shebang does. The commands come from src/commands by oclif's pattern discovery, and the hook from
// src: package.json names the build's bundle (dist/ukc.js) for both.
import fs from 'node:fs'
import {fileURLToPath} from 'node:url'

const {register} = await import('tsx/esm/api')
register()
const {plainRequested} = await import('../src/cli/colour.ts')
if (plainRequested(process.argv.slice(2), process.env, Boolean(process.stdout.isTTY)) && process.env.FORCE_COLOR === undefined) {
  process.env.FORCE_COLOR = '0'
}

const root = new URL('..', import.meta.url)
const pjson = JSON.parse(fs.readFileSync(new URL('package.json', root), 'utf8'))
const {execute} = await import('@oclif/core')
await execute({development: true, loadOptions: {root: fileURLToPath(root), pjson: {...pjson, oclif: {...pjson.oclif, commands: './src/commands', hooks: {command_not_found: './src/cli/command-not-found'}}}}})
