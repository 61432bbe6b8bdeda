// What the built `ukc` loads on its way to an answer (bench/startup.ts measures how long that takes):
// `--version` loads neither oclif nor the bundle, and `instance list` against the embedded platform
// loads none of the heavy packages, nor the platform, the tunnel or volume import. Every module URL
// the process resolves is recorded by a module resolve hook (node:module register).
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import {pathToFileURL} from 'node:url'
import {after, before, describe, it} from 'node:test'

import {CLI_METAFILE, LAZY_PACKAGES} from '../../scripts/bundle-cli.js'
import {Cli, ROOT, buildIfStale} from './platform-harness.js'

const HOOKS = `
import fs from 'node:fs'
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context)
  fs.appendFileSync(process.env.UKC_TEST_MODULE_LOG, result.url + '\\n')
  return result
}
`

/** Sources that only some commands need, and the packages they bring. */
const LAZY_SOURCES = ['src/platform/', 'src/tunnel/', 'src/volimport/']

describe('what the built ukc loads at start-up', () => {
  const cli = new Cli()
  const hooksDir = path.join(cli.dir, 'hooks')
  let logCount = 0

  before(async () => {
    await buildIfStale()
    fs.mkdirSync(hooksDir)
    fs.writeFileSync(path.join(hooksDir, 'hooks.mjs'), HOOKS)
    fs.writeFileSync(path.join(hooksDir, 'register.mjs'), "import {register} from 'node:module'\nregister('./hooks.mjs', import.meta.url)\n")
    await cli.start()
    await cli.json(['instance', 'create', '--name', 'startup-modules', 'hello'])
  })
  after(() => cli.cleanup())

  /** Runs the built binary as a user with nothing configured; returns its output and every module it resolved. */
  function traced(args: string[]): Promise<{code: number; stdout: string; stderr: string; modules: string[]}> {
    const log = path.join(hooksDir, `modules-${logCount++}.log`)
    const env: NodeJS.ProcessEnv = {...cli.env(), UKC_TEST_MODULE_LOG: log}
    delete env.NODE_OPTIONS
    return new Promise((resolve) => {
      execFile(process.execPath, ['--import', pathToFileURL(path.join(hooksDir, 'register.mjs')).href, path.join(ROOT, 'bin', 'run.js'), ...args], {env, timeout: 120_000}, (error, stdout, stderr) => {
        const modules = fs.existsSync(log) ? [...new Set(fs.readFileSync(log, 'utf8').split('\n').filter(Boolean))] : []
        resolve({code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr, modules})
      })
    })
  }

  const inRoot = (url: string): string | undefined => (url.startsWith(pathToFileURL(ROOT).href + '/') ? url.slice(pathToFileURL(ROOT).href.length + 1) : undefined)

  it('answers --version without loading oclif or the bundle', async () => {
    const result = await traced(['--version'])
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, /^ukc\/\S+ \S+-\S+ node-v/)
    const loaded = result.modules.map(inRoot).filter((file) => file !== undefined)
    assert.ok(loaded.includes('bin/run.js'), `the hook saw the binary: ${loaded.join(', ')}`)
    assert.deepEqual(loaded.filter((file) => file.startsWith('dist/') || file.includes('node_modules/@oclif/')), [])
  })

  it('lists instances on the local platform without the heavy packages, the platform or the tunnel', async () => {
    const result = await traced(['instance', 'list'])
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, /startup-modules/)
    const loaded = result.modules.map(inRoot).filter((file) => file !== undefined)
    assert.ok(loaded.includes('dist/ukc.js'), `the bundle ran: ${loaded.join(', ')}`)

    const heavy = loaded.filter((file) => LAZY_PACKAGES.some((name) => file.includes(`node_modules/${name}/`)))
    assert.deepEqual(heavy, [], 'heavy packages loaded by instance list')

    // The bundle's outputs, by the sources they hold; tsc's own dist/platform, dist/tunnel, … count as well.
    const metafile = JSON.parse(fs.readFileSync(path.join(ROOT, CLI_METAFILE), 'utf8')) as {outputs: Record<string, {inputs: Record<string, unknown>}>}
    const lazyCode = loaded.filter((file) => {
      const sources = metafile.outputs[file] ? Object.keys(metafile.outputs[file].inputs) : [file.replace(/^dist\//, 'src/')]
      return sources.some((source) => LAZY_SOURCES.some((dir) => source.startsWith(dir)))
    })
    assert.deepEqual(lazyCode, [], 'platform, tunnel or volume import code loaded by instance list')
  })
})
