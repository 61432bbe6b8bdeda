// `postgres:*`: a real PostgreSQL (the host's or npm's: postgres-servers.ts), configured like the official container image:
// POSTGRES_PASSWORD (required unless POSTGRES_HOST_AUTH_METHOD=trust), POSTGRES_USER (default
// postgres), POSTGRES_DB (default = user), POSTGRES_INITDB_ARGS, PGDATA (default
// /var/lib/postgresql/data: a volume mounted there, or above it, holds the database; without one the
// instance's data dir does). The first boot on an empty data directory runs initdb; later boots, and
// later instances on the same volume, use that database. Listens on the backend IP, its Unix socket
// in the instance's 0700 data dir; local logins need the password as well (never `trust`, unless the
// user asked for POSTGRES_HOST_AUTH_METHOD=trust).
import {spawn} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

import {LaunchError, type LaunchContext, type LaunchPlan} from '../launch.js'
import {giveTo} from '../identity.js'
import {volumeCovering, volumePathOf} from '../../volumes/index.js'
import {type PasswdEntry, withPasswdEntry} from './nss-wrapper.js'

export const POSTGRES_PORT = 5432
/** Where the official image keeps the database (its PGDATA default). */
export const POSTGRES_DATA = '/var/lib/postgresql/data'
/** initdb runs here, inside the data directory, before its result moves up (see ensureDatabase). */
const STAGING = '.ukc-initdb'
const STAGED = '.ukc-initdb-complete'

export interface PostgresBinaries {
  postgres: string
  initdb: string
}

/** postmaster.pid's 8th line is the server status; `ready` once it accepts connections. */
function postmasterReady(pgdata: string): boolean {
  try {
    return fs.readFileSync(path.join(pgdata, 'postmaster.pid'), 'utf8').split('\n')[7]?.trim() === 'ready'
  } catch {
    return false
  }
}

/** How clients authenticate, over TCP and the Unix socket alike. */
function authMethod(env: Record<string, string>): string {
  return env.POSTGRES_HOST_AUTH_METHOD || 'scram-sha-256'
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}

function run(command: string, args: string[], context: LaunchContext, passwd: PasswdEntry, input?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = passwd.argv(command, args)
    const child = spawn(step.command, step.args, {
      cwd: context.dataDir,
      env: {...context.env, ...passwd.env},
      uid: step.asRoot ? undefined : context.runAs?.uid,
      gid: step.asRoot ? undefined : context.runAs?.gid,
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    })
    const output = (chunk: Buffer): void => context.console(chunk.toString())
    child.stdout?.on('data', output)
    child.stderr?.on('data', output)
    child.once('error', reject)
    child.once('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new LaunchError(`${path.basename(command)} failed (${code ?? signal}); see the instance log`)),
    )
    if (input !== undefined) child.stdin?.end(input)
  })
}

async function initialize(image: string, binaries: PostgresBinaries, pgdata: string, context: LaunchContext): Promise<void> {
  const env = context.env
  const password = env.POSTGRES_PASSWORD ?? ''
  const method = authMethod(env)
  if (!password && method !== 'trust') {
    throw new LaunchError(
      'Database is uninitialized and superuser password is not specified. You must specify POSTGRES_PASSWORD to a non-empty value for the superuser, or set POSTGRES_HOST_AUTH_METHOD=trust to allow all connections without a password.',
    )
  }
  const user = env.POSTGRES_USER || 'postgres'
  const database = env.POSTGRES_DB || user
  fs.rmSync(pgdata, {recursive: true, force: true}) // a half-finished earlier initdb
  const pwfile = path.join(context.dataDir, '.pwfile')
  fs.writeFileSync(pwfile, `${password}\n`, {mode: 0o600})
  giveTo(context.runAs, pwfile)
  context.console('ukc: initializing the database (first boot)\n')
  // initdb refuses a uid without a passwd entry: like the official image, it runs through nss_wrapper.
  await withPasswdEntry(context.runAs, context.dataDir, image, async (passwd) => {
    try {
      const extra = (env.POSTGRES_INITDB_ARGS ?? '').split(/\s+/).filter(Boolean)
      await run(
        binaries.initdb,
        ['-D', pgdata, `--username=${user}`, `--pwfile=${pwfile}`, `--auth-local=${method}`, `--auth-host=${method}`, '--encoding=UTF8', '--no-sync', ...extra],
        context,
        passwd,
      )
    } finally {
      fs.rmSync(pwfile, {force: true})
    }
    // Like the official image: password auth (or trust) from any address, since clients reach the
    // server through the platform's endpoints and the gateway.
    fs.appendFileSync(path.join(pgdata, 'pg_hba.conf'), `\nhost all all all ${method}\n`)
    if (database !== 'postgres') {
      await run(binaries.postgres, ['--single', '-D', pgdata, 'postgres'], context, passwd, `CREATE DATABASE ${quoteIdentifier(database)};\n`)
    }
  })
}

/**
 * Data dirs made before local logins needed a password have `local … trust` lines in pg_hba.conf:
 * they get the instance's method instead (what initdb writes today).
 */
function requirePasswordLocally(pgdata: string, method: string): void {
  if (method === 'trust') return
  const file = path.join(pgdata, 'pg_hba.conf')
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch {
    return
  }
  const fixed = text.replace(/^(local\s.*\s)trust(\s*)$/gm, `$1${method}$2`)
  if (fixed !== text) fs.writeFileSync(file, fixed)
}

/**
 * A database in `pgdata` exists iff PG_VERSION does. It is made atomically, so that a crash never
 * leaves a volume that looks initialised but is not: initdb and the database creation run in
 * `<pgdata>/.ukc-initdb`, which is then marked complete and its entries moved up, PG_VERSION last.
 * A complete staging dir found at boot is a move cut short (finished now); an incomplete one is
 * redone. Other files in a data directory without PG_VERSION are someone else's: refused.
 */
async function ensureDatabase(image: string, binaries: PostgresBinaries, pgdata: string, guestPath: string, context: LaunchContext): Promise<void> {
  if (fs.existsSync(path.join(pgdata, 'PG_VERSION'))) return
  const staging = path.join(pgdata, STAGING)
  if (!fs.existsSync(path.join(staging, STAGED))) {
    if (!fs.existsSync(pgdata)) {
      fs.mkdirSync(pgdata, {recursive: true, mode: 0o700})
      giveTo(context.runAs, pgdata)
    }
    const foreign = fs.readdirSync(pgdata).filter((entry) => entry !== STAGING)
    if (foreign.length > 0) {
      throw new LaunchError(
        `${guestPath} holds files but no database (no PG_VERSION: ${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''}); mount an empty volume there, or one that holds a database`,
      )
    }
    await initialize(image, binaries, staging, context)
    fs.writeFileSync(path.join(staging, STAGED), '')
  }
  for (const entry of fs.readdirSync(staging)) {
    if (entry !== 'PG_VERSION' && entry !== STAGED) fs.renameSync(path.join(staging, entry), path.join(pgdata, entry))
  }
  fs.renameSync(path.join(staging, 'PG_VERSION'), path.join(pgdata, 'PG_VERSION'))
  fs.rmSync(staging, {recursive: true, force: true})
}

/** `server` picks the server that can run the database in `pgdata` (PostgresServers.binaries). */
export async function launchPostgres(image: string, context: LaunchContext, server: (pgdata: string) => Promise<PostgresBinaries>): Promise<LaunchPlan> {
  const guestPath = context.env.PGDATA || POSTGRES_DATA
  const volume = volumeCovering(context.volumes, guestPath)
  if (volume?.readonly) throw new LaunchError(`postgres writes to its data directory ${guestPath}, but the volume ${volume.name} is mounted read-only there`)
  const pgdata = volumePathOf(context.volumes, guestPath) ?? path.join(context.dataDir, 'pgdata')
  const binaries = await server(pgdata)
  const sockets = path.join(context.dataDir, 'run')
  fs.mkdirSync(sockets, {recursive: true, mode: 0o700})
  giveTo(context.runAs, sockets)
  await ensureDatabase(image, binaries, pgdata, guestPath, context)
  requirePasswordLocally(pgdata, authMethod(context.env))
  // Lock files left by a killed server (after kill -9 of the daemon its pid may linger as a zombie,
  // which Postgres takes for a live postmaster). The runtime killed any old process of this instance.
  fs.rmSync(path.join(pgdata, 'postmaster.pid'), {force: true})
  for (const file of fs.readdirSync(sockets)) if (file.endsWith('.lock')) fs.rmSync(path.join(sockets, file), {force: true})
  const args = [
    '-D', pgdata,
    '-p', String(context.port),
    '-c', `listen_addresses=${context.listenHost}`,
    '-c', `unix_socket_directories=${sockets}`,
    ...context.args,
  ]
  return {command: binaries.postgres, args, stopSignal: 'SIGINT', ready: () => postmasterReady(pgdata)}
}
