import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import {afterEach, describe, it} from 'node:test'

import {prompts} from '../../src/cli/index.js'
import {METRO, TOKEN, api, envelope, nock, ukc} from './harness.js'

const configFile = () => path.join(process.env.UKC_CONFIG_DIR as string, 'config.json')
const quotas = {status: 'success', uuid: 'q', used: {}, hard: {}, limits: {}}

describe('login, whoami, logout', () => {
  afterEach(() => nock.cleanAll())

  it('checks the token against the API and saves it with the metro (mode 0600)', async () => {
    const scope = api().get('/v1/users/quotas').reply(200, envelope('quotas', [quotas]))
    const {stdout, stderr, exitCode} = await ukc(['login', '--metro', METRO, '--token', TOKEN, '--profile', 'work'])
    assert.ok(scope.isDone())
    assert.equal(exitCode, 0, stderr)
    assert.equal(stdout, `Logged in as alice on ${METRO} (profile work)\n`)
    assert.ok(!stdout.includes(TOKEN) && !stderr.includes(TOKEN) && !stdout.includes('s3cret'))
    assert.equal(fs.statSync(configFile()).mode & 0o777, 0o600)
    const saved = JSON.parse(fs.readFileSync(configFile(), 'utf8')) as {profiles: Record<string, {token: string; metro: string}>}
    assert.deepEqual(saved.profiles.work, {token: TOKEN, metro: METRO})
  })

  it('whoami then uses the profile and never prints the secret', async () => {
    const {stdout, exitCode} = await ukc(['whoami', '--profile', 'work'])
    assert.equal(exitCode, 0)
    assert.match(stdout, /^user: alice$/m)
    assert.match(stdout, new RegExp(`^metro: ${METRO.replaceAll('.', '\\.')}$`, 'm'))
    assert.ok(!stdout.includes(TOKEN) && !stdout.includes('s3cret'))
  })

  it('logout removes the token and keeps the metro; whoami then fails with exit 3', async () => {
    const {stdout, exitCode} = await ukc(['logout', '--profile', 'work'])
    assert.equal(exitCode, 0)
    assert.equal(stdout, 'Logged out (profile work)\n')
    const saved = JSON.parse(fs.readFileSync(configFile(), 'utf8')) as {profiles: Record<string, {token?: string; metro: string}>}
    assert.deepEqual(saved.profiles.work, {metro: METRO})
    const after = await ukc(['whoami', '--profile', 'work'])
    assert.equal(after.exitCode, 3)
    assert.match(after.stderr, /could not determine unikraft cloud user token/)
  })

  it('asks for the token without echo on a terminal', async () => {
    const saved = {secret: prompts.secret, stdin: process.stdin.isTTY, stdout: process.stdout.isTTY, ci: process.env.CI}
    const asked: string[] = []
    prompts.secret = async (message: string) => {
      asked.push(message)
      return `${TOKEN}\n`
    }
    process.stdin.isTTY = true
    process.stdout.isTTY = true
    delete process.env.CI
    try {
      api().get('/v1/users/quotas').reply(200, envelope('quotas', [quotas]))
      const {stdout, exitCode} = await ukc(['login', '--metro', METRO, '--profile', 'tty'])
      assert.equal(exitCode, 0)
      assert.deepEqual(asked, ['Unikraft Cloud token:'])
      assert.equal(stdout, `Logged in as alice on ${METRO} (profile tty)\n`)
    } finally {
      prompts.secret = saved.secret
      process.stdin.isTTY = saved.stdin
      process.stdout.isTTY = saved.stdout
      if (saved.ci !== undefined) process.env.CI = saved.ci
    }
  })

  it('falls back to GET /instances where /users/quotas does not exist', async () => {
    api().get('/v1/users/quotas').reply(404, {status: 'error', message: 'Not found'})
    const scope = api().get('/v1/instances').reply(200, envelope('instances', []))
    const {exitCode} = await ukc(['login', '--metro', METRO, '--token', TOKEN, '--profile', 'other'])
    assert.ok(scope.isDone())
    assert.equal(exitCode, 0)
  })

  it('refuses a token the API rejects (exit 3) and saves nothing', async () => {
    api().get('/v1/users/quotas').reply(401, {status: 'error', message: 'Unauthorized'})
    const {exitCode, stderr} = await ukc(['login', '--metro', METRO, '--token', TOKEN, '--profile', 'rejected'])
    assert.equal(exitCode, 3)
    assert.match(stderr, /refused this token/)
    const saved = JSON.parse(fs.readFileSync(configFile(), 'utf8')) as {profiles: Record<string, unknown>}
    assert.equal(saved.profiles.rejected, undefined)
  })

  it('refuses a malformed token before calling the API (exit 3)', async () => {
    const {exitCode, stderr} = await ukc(['login', '--metro', METRO, '--token', Buffer.from('nocolon').toString('base64')])
    assert.equal(exitCode, 3)
    assert.match(stderr, /invalid token format/)
  })
})
