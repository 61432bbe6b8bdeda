#!/usr/bin/env node
// Runs the TypeScript sources (oclif maps dist/commands to src/commands in development). tsx is
// registered here, so `node bin/dev.js` works as well as the shebang does.
const {register} = await import('tsx/esm/api')
register()
const {plainRequested} = await import('../src/cli/colour.ts')
if (plainRequested(process.argv.slice(2), process.env, Boolean(process.stdout.isTTY)) && process.env.FORCE_COLOR === undefined) {
  process.env.FORCE_COLOR = '0'
}

const {execute} = await import('@oclif/core')
await execute({development: true, dir: import.meta.url})
