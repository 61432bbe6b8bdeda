#!/usr/bin/env -S node --import tsx
// Runs the TypeScript sources (oclif maps dist/commands to src/commands in development).
const {plainRequested} = await import('../src/cli/colour.ts')
if (plainRequested(process.argv.slice(2), process.env, Boolean(process.stdout.isTTY)) && process.env.FORCE_COLOR === undefined) {
  process.env.FORCE_COLOR = '0'
}

const {execute} = await import('@oclif/core')
await execute({development: true, dir: import.meta.url})
