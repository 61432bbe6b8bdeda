#!/usr/bin/env -S node --import tsx
// Runs the TypeScript sources (oclif maps dist/commands to src/commands in development).
const argv = process.argv.slice(2)
const plain = process.env.NO_COLOR !== undefined || process.env.TERM === 'dumb' || !process.stdout.isTTY
const asked = argv.includes('--no-color') || argv.includes('--json')
if ((plain || asked) && process.env.FORCE_COLOR === undefined) process.env.FORCE_COLOR = '0'

const {execute} = await import('@oclif/core')
await execute({development: true, dir: import.meta.url})
