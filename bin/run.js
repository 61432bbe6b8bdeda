#!/usr/bin/env node
// Colour must be decided before any colour library loads: NO_COLOR, --no-color, --json,
// -o json|raw, TERM=dumb and a non-TTY stdout all mean plain text.
const argv = process.argv.slice(2)
const plain =
  'NO_COLOR' in process.env ||
  process.env.TERM === 'dumb' ||
  !process.stdout.isTTY ||
  argv.includes('--no-color') ||
  argv.includes('--json')
if (plain && process.env.FORCE_COLOR === undefined) process.env.FORCE_COLOR = '0'

const {execute} = await import('@oclif/core')
await execute({dir: import.meta.url})
