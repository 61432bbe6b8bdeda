#!/usr/bin/env node
// The `ukc` binary: runs the bundled build (scripts/bundle-cli.ts writes dist/ukc.js, oclif and
// every command in one module; bin/dev.js runs the sources instead).
import fs from 'node:fs'
import os from 'node:os'

const argv = process.argv.slice(2)

/**
 * `ukc --version` alone is answered before oclif loads (that is most of its start-up), with oclif's
 * own line (Config#userAgent): `ukc/<version> <platform>-<arch> node-<version>`, the platform `wsl`
 * under WSL as decided by is-wsl (what oclif's wsl-utils asks). test/commands/version.test.ts holds
 * the two side by side. Undefined when the arguments are anything else.
 */
async function versionLine() {
  if (argv.length !== 1 || !argv[0].startsWith('-')) return undefined
  const pjson = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  if (!['--version', ...(pjson.oclif?.additionalVersionFlags ?? [])].includes(argv[0])) return undefined
  const wsl = process.platform === 'linux' && (await import('is-wsl')).default
  const arch = os.arch() === 'ia32' ? 'x86' : os.arch()
  return `${pjson.name}/${pjson.version} ${wsl ? 'wsl' : os.platform()}-${arch} node-${process.version}\n`
}

async function runOclif() {
  let colour, oclif
  try {
    colour = await import('../dist/cli/colour.js')
    oclif = await import('../dist/ukc.js')
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error
    process.stderr.write('Error: ukc is not built (dist/ is missing)\nTry: npm run build (or run ./bin/dev.js from the sources)\n')
    process.exitCode = 1
    return
  }
  // Colour is decided before any colour library loads (src/cli/colour.ts says when text is plain).
  if (colour.plainRequested(argv, process.env, Boolean(process.stdout.isTTY)) && process.env.FORCE_COLOR === undefined) {
    process.env.FORCE_COLOR = '0'
  }
  await oclif.execute({dir: import.meta.url})
}

const version = await versionLine()
if (version) process.stdout.write(version)
else await runOclif()
