// `ukc --version` (and `-v`) is answered by bin/run.js before oclif loads: its line must be exactly the
// one oclif prints (Config#userAgent), and anything else must still reach oclif.
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import path from 'node:path'
import {describe, it} from 'node:test'

const ROOT = path.resolve(import.meta.dirname, '..', '..')
const BIN = path.join(ROOT, 'bin', 'run.js')

/**
 * oclif's own answer: its `execute` with the package's real package.json (name, version,
 * additionalVersionFlags), the commands taken from src so that no build is needed.
 */
const OCLIF = `
import fs from 'node:fs'
import {execute} from '@oclif/core'
const root = ${JSON.stringify(ROOT)}
const pjson = JSON.parse(fs.readFileSync(root + '/package.json', 'utf8'))
await execute({args: process.argv.slice(1), loadOptions: {root, pjson: {...pjson, oclif: {...pjson.oclif, commands: './src/commands', hooks: {}}}}})
`

function run(args: string[]): Promise<{code: number | null; stdout: string; stderr: string}> {
  const env = {...process.env}
  delete env.NODE_OPTIONS
  const child = spawn(process.execPath, args, {cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe']})
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => resolve({code, stdout, stderr}))
  })
}

const oclifSays = (flag: string) => run(['--import', 'tsx', '--input-type=module', '-e', OCLIF, '--', flag])

describe('ukc --version without oclif', () => {
  for (const flag of ['--version', '-v']) {
    it(`prints exactly oclif's line for ${flag}`, async () => {
      const [fast, oclif] = await Promise.all([run([BIN, flag]), oclifSays(flag)])
      assert.equal(oclif.code, 0, oclif.stderr)
      assert.match(oclif.stdout, /^ukc\/\d+\.\d+\.\d+\S* \S+-\S+ node-v\d+/)
      assert.deepEqual(fast, {code: 0, stdout: oclif.stdout, stderr: ''})
    })
  }

  it('leaves other arguments to oclif (no version for a flag that only starts like one)', async () => {
    const result = await run([BIN, '--versions'])
    assert.doesNotMatch(result.stdout, /^ukc\//)
  })
})
