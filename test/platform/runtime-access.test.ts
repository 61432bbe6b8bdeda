// Who instance processes run as, and what they must be able to reach: the identity policy, built-in
// programs installed where the instance user can read them (a project in a 0700 dir still runs
// `hello`), and the start-up refusal of a data dir (or node binary) the instance user cannot reach.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, describe, it} from 'node:test'

import {InstanceAccessError, instanceAccessProblem, runPlatform} from '../../src/platform/index.js'
import {projectRoot} from '../../src/platform/runtime/builtin-programs.js'
import {uidBlock} from '../../src/platform/isolation/index.js'
import {instanceIdentity, PROGRAMS_DIR, writeProgramBundles} from '../../src/platform/runtime/index.js'
import {httpGet, RuntimeFixture} from './runtime-fixture.js'

const root = process.getuid?.() === 0
const notRoot = !root && 'the platform switches identity only as root'
const temps: string[] = []

/** A fresh directory with mode 0700, as `mktemp -d` makes them. */
function privateDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  temps.push(dir)
  return dir
}

function uidOf(pid: number): number {
  return Number(/^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1])
}

after(() => {
  for (const dir of temps) fs.rmSync(dir, {recursive: true, force: true})
})

describe('instance identity and access', () => {
  it('has one identity policy: each user a uid and gid of their own from the platform\'s block (as root), else nobody', {skip: notRoot}, () => {
    const uids = uidBlock(3)
    const alice = instanceIdentity({name: 'alice', index: 0, uids})
    const bob = instanceIdentity({name: 'bob', index: 5, uids})
    assert.deepEqual(alice, {uid: uids.first, gid: uids.first, user: `uid ${uids.first}`})
    assert.deepEqual(bob, {uid: uids.first + 5, gid: uids.first + 5, user: `uid ${uids.first + 5}`})
    assert.notDeepEqual(instanceIdentity({name: 'alice', index: 0, uids: uidBlock(4)}), alice, 'another platform, other uids')
    // A platform whose block cannot be used (a user namespace that does not map it) falls back to nobody.
    assert.equal(instanceIdentity({name: 'alice', index: 0})?.user, 'nobody')
    assert.deepEqual(instanceIdentity({name: 'bob', index: 5}), instanceIdentity({name: 'alice', index: 0}))
  })

  it('runs hello from a project copy in a 0700 directory (only its dist/ bundles, as an installed package)', async () => {
    const project = privateDir('ukc-project-')
    await writeProgramBundles(projectRoot(), path.join(project, 'dist', 'images'))
    const fixture = await RuntimeFixture.create(undefined, {projectRoot: project})
    try {
      const alice = fixture.user('alice', 7)
      const record = fixture.instance(alice, 'hello')
      await fixture.runtime.start(record.uuid)
      assert.equal((await httpGet(record.private_ip, 8080)).body, `Hello from ${record.name}\n`)
      const runAs = fixture.runtime.identityOf(alice)
      if (runAs) {
        assert.equal(uidOf(fixture.get(record.uuid).pid as number), runAs.uid)
        // The point: the instance user cannot read the project itself.
        const direct = spawnSync(process.execPath, [path.join(project, 'dist', 'images', 'hello.mjs')], {uid: runAs.uid, gid: runAs.gid, encoding: 'utf8'})
        assert.notEqual(direct.status, 0)
        assert.match(direct.stderr, /EACCES|permission denied|Cannot find module/i, 'node cannot read it')
      }
      const programs = path.join(fixture.dataDir, PROGRAMS_DIR)
      assert.equal(fs.statSync(programs).mode & 0o777, 0o755, 'a platform-owned 0755 directory')
      assert.equal(fs.statSync(path.join(programs, 'hello.mjs')).mode & 0o777, 0o644, 'readable files')
      await fixture.runtime.stop(record.uuid, {force: false, drainTimeoutMs: 0, reason: 'user'})
    } finally {
      await fixture.close()
    }
  })

  it("keeps an instance's files to its user: data dir 0700 theirs; instance dir, console log and hosts file the platform's, readable by their group only", {skip: notRoot}, async () => {
    const fixture = await RuntimeFixture.create()
    try {
      const talker = "console.log('hello'); require('http').createServer((q, r) => r.end()).listen(Number(process.env.PORT), process.env.UKC_LISTEN_HOST)"
      fs.writeFileSync(path.join(fixture.dataDir, 'images.json'), JSON.stringify({'talker:latest': {command: [process.execPath, '-e', talker], port: 8080}}))
      const alice = fixture.user('alice', 6)
      const record = fixture.instance(alice, 'talker')
      await fixture.runtime.start(record.uuid)
      await fixture.until('its first console line', () => fixture.runtime.logs(record.uuid, 0, 100).output.length > 0)
      const runAs = fixture.runtime.identityOf(alice)
      assert.ok(runAs && runAs.uid !== 0 && runAs.user !== 'nobody', 'a uid of her own')
      const owner = (file: string) => {
        const stat = fs.statSync(file)
        return {mode: stat.mode & 0o777, uid: stat.uid, gid: stat.gid}
      }
      const dir = fixture.runtime.instanceDir(record.uuid)
      const hosts = fixture.runtime.hostsFile(alice.uuid)
      assert.deepEqual(owner(path.join(dir, 'data')), {mode: 0o700, uid: runAs.uid, gid: runAs.gid})
      assert.deepEqual(owner(dir), {mode: 0o750, uid: 0, gid: runAs.gid})
      assert.deepEqual(owner(path.join(dir, 'console.log')), {mode: 0o640, uid: 0, gid: runAs.gid})
      assert.deepEqual(owner(hosts), {mode: 0o640, uid: 0, gid: runAs.gid})
      assert.deepEqual(owner(path.dirname(hosts)), {mode: 0o750, uid: 0, gid: runAs.gid})
      for (const shared of [fixture.dataDir, path.join(fixture.dataDir, 'instances'), path.join(fixture.dataDir, 'networks')]) {
        assert.equal(owner(shared).mode & 0o077, 0o011, `${shared}: others pass through, never list`)
      }
      await fixture.runtime.stop(record.uuid, {force: false, drainTimeoutMs: 0, reason: 'user'})
    } finally {
      await fixture.close()
    }
  })

  it('gives an instance data dir made under an earlier identity (nobody, another uid block) to its uid at boot', {skip: notRoot}, async () => {
    const fixture = await RuntimeFixture.create()
    try {
      const alice = fixture.user('alice', 5)
      const record = fixture.instance(alice, 'hello')
      const data = path.join(fixture.runtime.instanceDir(record.uuid), 'data')
      fs.mkdirSync(path.join(data, 'inner'), {recursive: true})
      fs.writeFileSync(path.join(data, 'inner', 'file'), 'made as nobody')
      for (const file of [data, path.join(data, 'inner'), path.join(data, 'inner', 'file')]) fs.chownSync(file, 65_534, 65_534)
      await fixture.runtime.start(record.uuid)
      const runAs = fixture.runtime.identityOf(alice)
      assert.ok(runAs)
      for (const file of [data, path.join(data, 'inner'), path.join(data, 'inner', 'file')]) assert.equal(fs.statSync(file).uid, runAs.uid, file)
      await fixture.runtime.stop(record.uuid, {force: false, drainTimeoutMs: 0, reason: 'user'})
    } finally {
      await fixture.close()
    }
  })

  it('refuses a data dir under a directory the instance user cannot enter, in one line that says what to do', {skip: notRoot}, async () => {
    const parent = privateDir('ukc-parent-')
    const dataDir = path.join(parent, 'p')
    const problem = instanceAccessProblem(dataDir, [{name: 'local'}])
    assert.ok(problem)
    assert.equal(problem.includes('\n'), false, 'one line')
    assert.match(problem, new RegExp(`^instance processes run as uid \\d+ and cannot enter ${parent}, which holds the data dir ${dataDir}`), 'names the uid it checked')
    assert.match(problem, new RegExp(`such as the default /var/lib/ukc/local, or chmod o\\+x ${parent}$`))

    await assert.rejects(runPlatform({dataDir, apiPort: 0, gatewayPort: 0, log: () => {}}), (error: Error) => {
      assert.ok(error instanceof InstanceAccessError)
      // The uid is the block the data dir would get: another platform may claim that one meanwhile.
      assert.equal(error.message.replace(/uid \d+/, 'uid N'), problem.replace(/uid \d+/, 'uid N'))
      return true
    })
    assert.equal(fs.existsSync(dataDir), false, 'nothing was created')

    fs.chmodSync(parent, 0o711)
    assert.equal(instanceAccessProblem(dataDir, [{name: 'local'}]), undefined, 'traversable (not listable) is enough')
  })

  it('refuses a node binary the instance user cannot run', {skip: notRoot}, () => {
    const dataDir = path.join(privateDir('ukc-data-'), 'p')
    fs.chmodSync(path.dirname(dataDir), 0o755)
    const hidden = privateDir('ukc-node-')
    const node = path.join(hidden, 'node')
    fs.writeFileSync(node, '', {mode: 0o755})
    assert.match(instanceAccessProblem(dataDir, [{name: 'local'}], node) ?? '', new RegExp(`cannot run node at ${node}: .*chmod o\\+x ${hidden}$`))

    fs.chmodSync(hidden, 0o755)
    fs.chmodSync(node, 0o700)
    assert.match(instanceAccessProblem(dataDir, [{name: 'local'}], node) ?? '', new RegExp(`chmod o\\+rx ${node}$`))
    fs.chmodSync(node, 0o755)
    assert.equal(instanceAccessProblem(dataDir, [{name: 'local'}], node), undefined)
    assert.equal(instanceAccessProblem(dataDir, [{name: 'local'}]), undefined, 'this machine’s node is fine')
  })
})
