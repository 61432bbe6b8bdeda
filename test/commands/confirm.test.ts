import assert from 'node:assert/strict'
import {afterEach, beforeEach, describe, it} from 'node:test'

import {prompts} from '../../src/cli/index.js'
import {TARGET, api, envelope, instanceObject, nock, ukc} from './harness.js'

describe('confirmation of --all', () => {
  const original = {confirm: prompts.confirm, stdin: process.stdin.isTTY, stdout: process.stdout.isTTY, ci: process.env.CI}
  let asked: string[] = []
  let answer = false

  beforeEach(() => {
    asked = []
    prompts.confirm = async (message: string) => {
      asked.push(message)
      return answer
    }
    delete process.env.CI
  })
  afterEach(() => {
    prompts.confirm = original.confirm
    process.stdin.isTTY = original.stdin
    process.stdout.isTTY = original.stdout
    if (original.ci === undefined) delete process.env.CI
    else process.env.CI = original.ci
    nock.cleanAll()
  })
  const onTerminal = () => {
    process.stdin.isTTY = true
    process.stdout.isTTY = true
  }

  it('asks on a terminal and removes nothing when the answer is no (exit 2)', async () => {
    onTerminal()
    answer = false
    const {exitCode, stderr} = await ukc(['instance', 'remove', '--all', ...TARGET])
    assert.deepEqual(asked, ['Remove every instance?'])
    assert.equal(exitCode, 2)
    assert.match(stderr, /^Error: aborted\nTry: pass --yes to skip this question\n$/)
    assert.deepEqual(nock.pendingMocks(), [])
  })

  it('removes after a yes', async () => {
    onTerminal()
    answer = true
    api().get('/v1/instances').reply(200, envelope('instances', [instanceObject()]))
    const scope = api().delete('/v1/instances').reply(200, envelope('instances', [{status: 'success', uuid: 'u', name: 'nginx-1a747'}]))
    const {exitCode} = await ukc(['instance', 'remove', '--all', ...TARGET])
    assert.equal(asked.length, 1)
    assert.ok(scope.isDone())
    assert.equal(exitCode, 0)
  })

  it('does not ask with --yes, nor outside a terminal', async () => {
    onTerminal()
    api().get('/v1/services').reply(200, envelope('service_groups', []))
    await ukc(['service', 'remove', '--all', '--yes', ...TARGET])
    process.stdin.isTTY = false
    api().get('/v1/instances').reply(200, envelope('instances', []))
    await ukc(['instance', 'stop', '--all', ...TARGET])
    assert.deepEqual(asked, [])
  })
})
