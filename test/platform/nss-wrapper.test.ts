// initdb under a uid that has no /etc/passwd entry: through nss_wrapper where the library is
// installed, and through a private mount namespace where it is not (a machine with only Node).
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, describe, it} from 'node:test'

import {findBinary} from '../../src/platform/runtime/host-binaries.js'
import type {RunAs} from '../../src/platform/runtime/identity.js'
import {type PasswdEntry, withPasswdEntry} from '../../src/platform/runtime/servers/nss-wrapper.js'
import {findNpmPostgres, NpmPostgresInstaller} from '../../src/platform/runtime/servers/postgres-npm.js'

const notRoot = process.getuid?.() !== 0 && 'per-user uids exist only when the platform is root'
const noTools = !['unshare', 'mount', 'setpriv', 'getent'].every((name) => findBinary(name)) && 'unshare, mount, setpriv or getent is missing'

/** A uid and gid no account has (far above the platform's uid blocks' usual range, and checked). */
function strangerUid(): RunAs {
  const taken = new Set(fs.readFileSync('/etc/passwd', 'utf8').split('\n').map((line) => line.split(':')[2]))
  let uid = 2_100_000_000 + (process.pid % 100_000)
  while (taken.has(String(uid))) uid++
  return {uid, gid: uid, user: `uid ${uid}`}
}

/** Runs one step the way postgres.ts does: as the instance uid, unless the entry's argv drops to it itself. */
function runStep(passwd: PasswdEntry, runAs: RunAs, cwd: string, command: string, args: string[]): {status: number | null; stdout: string; stderr: string} {
  const step = passwd.argv(command, args)
  const result = spawnSync(step.command, step.args, {
    cwd,
    env: {PATH: process.env.PATH ?? '/usr/bin:/bin', ...passwd.env},
    uid: step.asRoot ? undefined : runAs.uid,
    gid: step.asRoot ? undefined : runAs.gid,
    encoding: 'utf8',
  })
  return {status: result.status, stdout: result.stdout, stderr: result.stderr}
}

describe('a passwd entry for an instance uid without an account', {skip: notRoot || noTools}, () => {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-nss-'))
  fs.chmodSync(scratch, 0o755)
  after(() => fs.rmSync(scratch, {recursive: true, force: true}))

  function instanceDir(runAs: RunAs): string {
    const dir = fs.mkdtempSync(path.join(scratch, 'instance-'))
    fs.chownSync(dir, runAs.uid, runAs.gid)
    fs.chmodSync(dir, 0o700)
    return dir
  }

  it('without libnss_wrapper: the step sees the entry in a mount namespace of its own, as the instance uid, and nothing else does', async () => {
    const runAs = strangerUid()
    const dir = instanceDir(runAs)
    // What the instance's uid could leave in its own directory: links to root's files.
    const rootOnly = path.join(scratch, 'root-only')
    fs.writeFileSync(rootOnly, 'secret\n', {mode: 0o600})
    for (const name of ['.nss-passwd', '.nss-group', 'passwd', 'group']) fs.symlinkSync(rootOnly, path.join(dir, name))
    let files: string | undefined
    await withPasswdEntry(
      runAs,
      dir,
      'postgres:16',
      async (passwd) => {
        files = passwd.argv('true', []).args.find((arg) => arg.endsWith('/passwd'))
        const seen = runStep(passwd, runAs, dir, 'getent', ['passwd', String(runAs.uid)])
        assert.equal(seen.status, 0, seen.stderr)
        assert.equal(seen.stdout, `postgres:x:${runAs.uid}:${runAs.gid}:PostgreSQL:${dir}:/bin/false\n`)
        const who = runStep(passwd, runAs, dir, 'id', [])
        assert.match(who.stdout, new RegExp(`^uid=${runAs.uid}\\(postgres\\) gid=${runAs.gid}\\(postgres\\) groups=${runAs.gid}\\(postgres\\)\n$`))
        // The machine's own lookups are unchanged while the step runs.
        assert.equal(spawnSync('getent', ['passwd', String(runAs.uid)]).status, 2)
      },
      () => undefined,
    )
    assert.equal(fs.readFileSync(rootOnly, 'utf8'), 'secret\n', 'root wrote nothing through the links')
    assert.deepEqual(fs.readdirSync(dir).sort(), ['.nss-group', '.nss-passwd', 'group', 'passwd'], 'nothing of the platform is left in the instance dir')
    assert.ok(files && !files.startsWith(dir), files)
    assert.equal(fs.existsSync(path.dirname(files)), false, 'the passwd and group files are gone')
  })

  it('initdb of the npm server runs that way under the instance uid', {skip: !findNpmPostgres() && 'the npm PostgreSQL package is not installed'}, async () => {
    const pkg = findNpmPostgres()
    if (!pkg) return
    const {initdb} = await new NpmPostgresInstaller(path.join(scratch, 'servers')).install(pkg)
    const runAs = strangerUid()
    const dir = instanceDir(runAs)
    await withPasswdEntry(
      runAs,
      dir,
      'postgres:16',
      async (passwd) => {
        const made = runStep(passwd, runAs, dir, initdb, ['-D', path.join(dir, 'pgdata'), '--username=postgres', '--auth=trust', '--no-sync'])
        assert.equal(made.status, 0, made.stderr)
      },
      () => undefined,
    )
    assert.equal(fs.statSync(path.join(dir, 'pgdata', 'PG_VERSION')).uid, runAs.uid)
  })
})
