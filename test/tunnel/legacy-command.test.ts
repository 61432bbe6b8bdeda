// `ukc tunnel` in legacy mode as a user runs it, for what fails before any relay exists: -p/-P are
// honoured (validated against the mappings), not dismissed as "ignored".
import {execFile} from 'node:child_process'
import assert from 'node:assert/strict'
import os from 'node:os'
import path from 'node:path'
import {describe, it} from 'node:test'

import {ROOT} from './harness.js'

function ukc(args: string[]): Promise<{code: number; stdout: string; stderr: string}> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // A metro that is never contacted: these runs must fail before talking to any API.
    UKC_METRO: 'http://127.0.0.1:9/v1',
    UKC_TOKEN: Buffer.from('tester:secret').toString('base64'),
    XDG_CONFIG_HOME: path.join(os.tmpdir(), 'ukc-tunnel-legacy-cmd-test'),
    NO_COLOR: '1',
  }
  delete env.NODE_TEST_CONTEXT
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test', 'commands', 'ukc-from-src.ts'), 'tunnel', '--tunnel-image', 'official/utils/tunnel:1.0', ...args], {env, timeout: 60_000}, (error, stdout, stderr) => {
      resolve({code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr})
    })
  })
}

describe('ukc tunnel legacy mode (command)', () => {
  it('refuses a -p count that does not match the mappings, and a -P that collides with -p, with exit 2', async () => {
    for (const [args, message] of [
      [['-p', '5000', '-p', '5001', '0:db:1', '0:db:2', '0:db:3'], /2 --tunnel-proxy-port values for 3 mapping\(s\)/],
      [['-P', '4444', '0:db:1'], /port 4444 is both the control port and a proxy port/],
    ] as const) {
      const result = await ukc([...args])
      assert.equal(result.code, 2, result.stderr)
      assert.match(result.stderr, message)
      assert.doesNotMatch(result.stderr, /ignored/)
    }
  })
})
