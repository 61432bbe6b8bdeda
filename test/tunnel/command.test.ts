// `ukc tunnel` as a user runs it, for what fails before any relay exists: usage errors and bind errors.
import {execFile} from 'node:child_process'
import assert from 'node:assert/strict'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {after, describe, it} from 'node:test'

import {ROOT} from './harness.js'

function ukc(args: string[]): Promise<{code: number; stdout: string; stderr: string}> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // A metro that is never contacted: these runs must fail before talking to any API.
    UKC_METRO: 'http://127.0.0.1:9/v1',
    UKC_TOKEN: Buffer.from('tester:secret').toString('base64'),
    XDG_CONFIG_HOME: path.join(os.tmpdir(), 'ukc-tunnel-cmd-test'),
    NO_COLOR: '1',
  }
  delete env.NODE_TEST_CONTEXT
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test', 'commands', 'ukc-from-src.ts'), 'tunnel', ...args], {env, timeout: 60_000}, (error, stdout, stderr) => {
      resolve({code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr})
    })
  })
}

describe('ukc tunnel (command)', () => {
  const busy = net.createServer()
  after(() => new Promise<void>((resolve) => busy.close(() => resolve())))

  it('refuses UDP, bare ports and duplicates with one line and exit 2', async () => {
    for (const [args, message] of [
      [['172.16.22.2:8123/udp'], /UDP is not supported/],
      [['8080'], /a bare port is not enough/],
      [['5432:db:5432', 'x:5432'], /local port 5432 is already used/],
    ] as const) {
      const result = await ukc([...args])
      assert.equal(result.code, 2, result.stderr)
      assert.match(result.stderr, message)
      assert.equal(result.stderr.split('\n').filter((l) => l.startsWith('Error:')).length, 1)
      assert.equal(result.stdout, '')
    }
  })

  it('fails at once with exit 2 when the local port is in use, before creating a relay', async () => {
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve))
    const {port} = busy.address() as net.AddressInfo
    const result = await ukc([`${port}:127.16.0.9:5432`])
    assert.equal(result.code, 2, result.stderr)
    assert.match(result.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the port is already in use`))
    assert.doesNotMatch(result.stderr, /creating the relay/)
  })
})
