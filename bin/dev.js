#!/usr/bin/env -S node --import tsx
const argv = process.argv.slice(2)
if ('NO_COLOR' in process.env || !process.stdout.isTTY || argv.includes('--no-color') || argv.includes('--json')) {
  if (process.env.FORCE_COLOR === undefined) process.env.FORCE_COLOR = '0'
}
const {execute} = await import('@oclif/core')
await execute({development: true, dir: import.meta.url})
