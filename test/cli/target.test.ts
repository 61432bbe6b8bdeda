import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, describe, it} from 'node:test'

import {AuthError, UsageError} from '../../src/api/index.js'
import {ConfigStore, resolveTarget} from '../../src/cli/index.js'
import {selfIdentity} from '../../src/local/index.js'

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-target-test-'))
after(() => fs.rmSync(root, {recursive: true, force: true}))

const tok = (user: string) => Buffer.from(`${user}:secret`).toString('base64')
let n = 0
async function configDir(profiles: Record<string, {metro?: string; token?: string}> = {}, activeProfile?: string): Promise<string> {
  const dir = path.join(root, `config-${n++}`)
  fs.mkdirSync(dir)
  if (Object.keys(profiles).length > 0 || activeProfile) {
    await new ConfigStore(dir).write((config) => {
      config.profiles = profiles
      config.activeProfile = activeProfile
    })
  }
  return dir
}

async function resolve(input: {metro?: string; token?: string; profile?: string; env?: NodeJS.ProcessEnv; configDir: string}) {
  return resolveTarget({...input, env: input.env ?? {}, localDir: path.join(root, 'no-platform'), autoStart: false, notice: () => undefined})
}

describe('resolveTarget', () => {
  it('prefers the flag over every environment variable and the profile', async () => {
    const dir = await configDir({default: {metro: 'http://profile.test/v1', token: tok('profile')}})
    const target = await resolve({
      metro: 'http://flag.test/v1',
      token: tok('flag'),
      env: {UKC_METRO: 'http://ukc.test/v1', KC_METRO: 'http://kc.test/v1', KC_TOKEN: tok('env')},
      configDir: dir,
    })
    assert.equal(target.baseUrl, 'http://flag.test/v1')
    assert.equal(target.token, tok('flag'))
  })

  it('reads the kraft aliases in order UNIKRAFTCLOUD_, KRAFTCLOUD_, KC_, then UKC_', async () => {
    const dir = await configDir()
    const all = {
      UNIKRAFTCLOUD_METRO: 'http://unikraftcloud.test/v1',
      KRAFTCLOUD_METRO: 'http://kraftcloud.test/v1',
      KC_METRO: 'http://kc.test/v1',
      UKC_METRO: 'http://ukc.test/v1',
      UNIKRAFTCLOUD_TOKEN: tok('unikraftcloud'),
      KRAFTCLOUD_TOKEN: tok('kraftcloud'),
      KC_TOKEN: tok('kc'),
      UKC_TOKEN: tok('ukc'),
    }
    const order = ['UNIKRAFTCLOUD', 'KRAFTCLOUD', 'KC', 'UKC']
    for (let i = 0; i < order.length; i++) {
      const env: NodeJS.ProcessEnv = {}
      for (const prefix of order.slice(i)) {
        env[`${prefix}_METRO`] = all[`${prefix}_METRO` as keyof typeof all]
        env[`${prefix}_TOKEN`] = all[`${prefix}_TOKEN` as keyof typeof all]
      }
      const target = await resolve({env, configDir: dir})
      assert.equal(target.baseUrl, `http://${order[i].toLowerCase()}.test/v1`)
      assert.equal(target.token, tok(order[i].toLowerCase()))
    }
  })

  it('prefers the environment over the profile', async () => {
    const dir = await configDir({default: {metro: 'http://profile.test/v1', token: tok('profile')}})
    const target = await resolve({env: {KC_TOKEN: tok('env')}, configDir: dir})
    assert.equal(target.baseUrl, 'http://profile.test/v1')
    assert.equal(target.token, tok('env'))
  })

  it('uses the active profile, or the one named by --profile', async () => {
    const dir = await configDir(
      {default: {metro: 'http://default.test/v1', token: tok('default')}, work: {metro: 'http://work.test/v1', token: tok('work')}},
      'work',
    )
    const active = await resolve({configDir: dir})
    assert.deepEqual([active.baseUrl, active.token, active.profile], ['http://work.test/v1', tok('work'), 'work'])
    const named = await resolve({configDir: dir, profile: 'default'})
    assert.deepEqual([named.baseUrl, named.token, named.profile], ['http://default.test/v1', tok('default'), 'default'])
  })

  it('maps metro codes to their API URL', async () => {
    const target = await resolve({metro: 'fra', token: tok('a'), configDir: await configDir()})
    assert.equal(target.baseUrl, 'https://api.fra.unikraft.cloud/v1')
  })

  it('fails with an auth error (exit 3) when a remote metro has no token', async () => {
    await assert.rejects(resolve({metro: 'fra', configDir: await configDir()}), (error: unknown) => error instanceof AuthError && error.exitCode === 3)
  })

  it('defaults to the local platform when nothing is configured', async () => {
    await assert.rejects(resolve({configDir: await configDir()}), (error: unknown) => error instanceof UsageError && /local platform is not running/.test(error.message))
  })
})

describe('resolveTarget and a running local platform', () => {
  it('recognises the URL that `ukc local start` printed as the local platform and trusts its CA', async () => {
    const localDir = path.join(root, 'platform-by-url')
    fs.mkdirSync(localDir)
    fs.writeFileSync(path.join(localDir, 'ca.pem'), 'CA PEM')
    const info = {url: 'https://127.0.0.1:7781/v1', metro: 'local', ...selfIdentityOf(), ca: path.join(localDir, 'ca.pem'), dataDir: localDir, domain: 'local.localhost', gateway: {host: '127.0.0.1', ports: {}}, users: [{name: 'alice', token: tok('robot$alice.users.kraftcloud')}], startedAt: ''}
    fs.writeFileSync(path.join(localDir, 'platform.json'), JSON.stringify(info))
    const target = await resolveTarget({env: {UKC_METRO: 'https://127.0.0.1:7781/v1/'}, configDir: await configDir(), localDir, autoStart: false, notice: () => undefined})
    assert.equal(target.metro, 'local')
    assert.equal(target.baseUrl, 'https://127.0.0.1:7781/v1')
    assert.equal(target.ca, 'CA PEM')
    assert.equal(target.token, tok('robot$alice.users.kraftcloud'))
    // Another URL stays a remote metro: no CA of ours is trusted for it.
    const other = await resolveTarget({env: {UKC_METRO: 'https://127.0.0.1:9999/v1', UKC_TOKEN: tok('x')}, configDir: await configDir(), localDir, autoStart: false, notice: () => undefined})
    assert.equal(other.ca, undefined)
  })
})

function selfIdentityOf(): {pid: number; pidStart?: string} {
  const {pid, start} = selfIdentity()
  return {pid, pidStart: start}
}

describe('ConfigStore', () => {
  it('writes the config file readable only by the user', async () => {
    const dir = await configDir({default: {metro: 'fra', token: tok('a')}})
    const store = new ConfigStore(dir)
    assert.equal(fs.statSync(store.file).mode & 0o777, 0o600)
    assert.deepEqual(store.profile().profile, {metro: 'fra', token: tok('a')})
  })
})
