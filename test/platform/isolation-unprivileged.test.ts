// What the platform cannot enforce without root, shown: `ukc local start` with two users says so in
// one line, and bob's instance reaches alice's backend and her private endpoint (it looks like the
// host). As root, the platform is started as `nobody` for this; otherwise as the user running the tests.
import assert from 'node:assert/strict'
import {spawn, spawnSync} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'

import {UkcClient, createInstance, createVolume, deleteVolumes, firstOrThrow, type Instance} from '../../src/api/index.js'
import {readPlatformInfo, type PlatformInfo} from '../../src/local/info.js'
import {attempt, installProbe} from './isolation-fixture.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const NOBODY = 65_534

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/**
 * As root the platform runs as `nobody`, which must be able to read the project: a clone under a 0700
 * directory (root's home, `mktemp -d`) cannot be, and then this case is skipped with that reason.
 */
function unreadableProject(): string | false {
  if (process.getuid?.() !== 0) return false
  const probe = spawnSync(process.execPath, ['-e', `require('fs').accessSync(${JSON.stringify(path.join(ROOT, 'package.json'))}, require('fs').constants.R_OK)`], {uid: NOBODY, gid: NOBODY})
  return probe.status === 0 ? false : `nobody cannot read the project at ${ROOT} (a 0700 parent directory); run from a clone others can traverse`
}

describe('an unprivileged platform with two users', {skip: unreadableProject()}, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-unprivileged-'))
  const dataDir = path.join(dir, 'p')
  const asRoot = process.getuid?.() === 0
  let started: Run
  let info: PlatformInfo

  /** `ukc …` from the sources, as the unprivileged user. */
  function ukc(args: string[]): Promise<Run> {
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: dir,
      XDG_CONFIG_HOME: path.join(dir, 'config'),
      XDG_DATA_HOME: path.join(dir, 'data'),
      UKC_LOCAL_DIR: dataDir,
      UKC_NO_PROMPT: '1',
      NO_COLOR: '1',
    }
    const identity = asRoot ? {uid: NOBODY, gid: NOBODY} : {}
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test', 'commands', 'ukc-from-src.ts'), ...args], {cwd: ROOT, env, ...identity, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    return new Promise((resolve) => child.once('close', (code) => resolve({code, stdout, stderr})))
  }

  before(async () => {
    fs.chmodSync(dir, 0o755)
    if (asRoot) fs.chownSync(dir, NOBODY, NOBODY)
    started = await ukc(['local', 'start', '--user', 'alice', '--user', 'bob', '--api-port', '0', '--gateway-port', '0'])
    assert.equal(started.code, 0, started.stderr)
    info = readPlatformInfo(dataDir) as PlatformInfo
    assert.ok(info, 'the platform is running')
    installProbe(dir, dataDir)
  })

  after(async () => {
    if (info && fs.existsSync(path.join(dataDir, 'platform.json'))) {
      const stopped = await ukc(['local', 'stop'])
      if (stopped.code !== 0) process.kill(info.pid, 'SIGKILL') // the daemon this test started
    }
    fs.rmSync(dir, {recursive: true, force: true})
  })

  it('says in one line, when it starts, what it cannot enforce', () => {
    const warnings = started.stderr.split('\n').filter((line) => /warning/i.test(line))
    assert.equal(warnings.length, 1, started.stderr)
    assert.match(warnings[0] as string, /does not run as root, so every user's instances run as \S+: files, processes and private addresses are not isolated between users, and instances reach the host's loopback services; start it as root to isolate users$/)
    assert.deepEqual(info.limits, [warnings[0]?.replace(/^.*?Warning: /, '')], 'platform.json says it too')
  })

  it("lets bob's instance reach alice's backend and her private endpoint (the limit)", async () => {
    const ca = fs.readFileSync(info.ca, 'utf8')
    const create = async (token: string, name: string, image: string): Promise<Instance> =>
      firstOrThrow(await createInstance(new UkcClient({baseUrl: info.url, token, ca}), {name, image, autostart: true, wait_timeout_ms: 60_000}))
    const [alice, bob] = info.users
    const web = await create(alice!.token, 'web', 'hello')
    const probe = await create(bob!.token, 'probe', 'probe')
    const backend = `127.${Number(web.private_ip?.split('.')[1]) + 16}.${web.private_ip?.split('.').slice(2).join('.')}`
    assert.deepEqual(await attempt(probe.private_ip as string, {op: 'http', host: backend, port: 8080}), {ok: true, data: 'Hello from web\n'})
    assert.deepEqual(await attempt(probe.private_ip as string, {op: 'http', host: web.private_ip as string, port: 8080}), {ok: true, data: 'Hello from web\n'})
  })

  it('deletes a volume whose files include a read-only directory with files in it', async () => {
    const client = new UkcClient({baseUrl: info.url, token: info.users[0]!.token, ca: fs.readFileSync(info.ca, 'utf8')})
    const volume = firstOrThrow(await createVolume(client, {name: 'readonly-tree', size_mb: 16}))
    // What an instance, running as the platform's user, may leave: a tree it made read-only.
    const data = path.join(dataDir, 'volumes', volume.uuid, 'data')
    const locked = path.join(data, 'site')
    const owner = asRoot ? {uid: NOBODY, gid: NOBODY} : undefined
    fs.mkdirSync(locked)
    fs.writeFileSync(path.join(locked, 'index.html'), 'kept read-only')
    if (owner) for (const made of [locked, path.join(locked, 'index.html')]) fs.chownSync(made, owner.uid, owner.gid)
    fs.chmodSync(locked, 0o555)
    firstOrThrow(await deleteVolumes(client, [volume.uuid]))
    assert.equal(fs.existsSync(path.join(dataDir, 'volumes', volume.uuid)), false, 'its storage is gone')
  })

  it('`local reset` wipes the data dir with a read-only volume in it (as mounted read-only here: every write bit off)', async () => {
    const client = new UkcClient({baseUrl: info.url, token: info.users[0]!.token, ca: fs.readFileSync(info.ca, 'utf8')})
    const volume = firstOrThrow(await createVolume(client, {name: 'readonly-volume', size_mb: 16}))
    const data = path.join(dataDir, 'volumes', volume.uuid, 'data')
    fs.writeFileSync(path.join(data, 'fill'), 'x')
    if (asRoot) fs.chownSync(path.join(data, 'fill'), NOBODY, NOBODY)
    for (const file of [path.join(data, 'fill'), data]) fs.chmodSync(file, fs.statSync(file).mode & ~0o222)
    const reset = await ukc(['local', 'reset', '--yes'])
    assert.equal(reset.code, 0, reset.stderr)
    assert.deepEqual(fs.readdirSync(dataDir), [], 'nothing is left in the data dir')
  })
})
