#!/usr/bin/env node
// Colour is decided before any colour library loads (src/cli/colour.ts says when text is plain).
let colour
try {
  colour = await import('../dist/cli/colour.js')
} catch {
  process.stderr.write('Error: ukc is not built (dist/ is missing)\nTry: npm run build (or run ./bin/dev.js from the sources)\n')
  process.exit(1)
}
if (colour.plainRequested(process.argv.slice(2), process.env, Boolean(process.stdout.isTTY)) && process.env.FORCE_COLOR === undefined) {
  process.env.FORCE_COLOR = '0'
}

const {execute} = await import('@oclif/core')
await execute({dir: import.meta.url})
