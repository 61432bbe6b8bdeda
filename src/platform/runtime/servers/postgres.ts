// `postgres:*`: a real PostgreSQL (the host's or npm's: postgres-servers.ts), configured like the official container image:
// POSTGRES_PASSWORD (required unless POSTGRES_HOST_AUTH_METHOD=trust), POSTGRES_USER (default
// postgres), POSTGRES_DB (default = user), POSTGRES_INITDB_ARGS. First boot runs initdb into the
// instance's data dir; later boots reuse it. Listens on the backend IP, sockets in the data dir.
import {spawn} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

import {LaunchError, type LaunchContext, type LaunchPlan} from '../launch.js'
import {giveTo} from '../identity.js'

export const POSTGRES_PORT = 5432

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

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}

function run(command: string, args: string[], context: LaunchContext, input?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: context.dataDir,
      env: context.env,
      uid: context.runAs?.uid,
      gid: context.runAs?.gid,
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

async function initialize(binaries: PostgresBinaries, pgdata: string, context: LaunchContext): Promise<void> {
  const env = context.env
  const password = env.POSTGRES_PASSWORD ?? ''
  const method = env.POSTGRES_HOST_AUTH_METHOD || 'scram-sha-256'
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
  try {
    const extra = (env.POSTGRES_INITDB_ARGS ?? '').split(/\s+/).filter(Boolean)
    await run(
      binaries.initdb,
      ['-D', pgdata, `--username=${user}`, `--pwfile=${pwfile}`, '--auth-local=trust', `--auth-host=${method}`, '--encoding=UTF8', '--no-sync', ...extra],
      context,
    )
  } finally {
    fs.rmSync(pwfile, {force: true})
  }
  // Like the official image: password auth (or trust) from any address, since clients reach the
  // server through the platform's endpoints and the gateway.
  fs.appendFileSync(path.join(pgdata, 'pg_hba.conf'), `\nhost all all all ${method}\n`)
  if (database !== 'postgres') {
    await run(binaries.postgres, ['--single', '-D', pgdata, 'postgres'], context, `CREATE DATABASE ${quoteIdentifier(database)};\n`)
  }
}

/** `server` picks the server that can run the database in `pgdata` (PostgresServers.binaries). */
export async function launchPostgres(image: string, context: LaunchContext, server: (pgdata: string) => Promise<PostgresBinaries>): Promise<LaunchPlan> {
  const pgdata = path.join(context.dataDir, 'pgdata')
  const binaries = await server(pgdata)
  const sockets = path.join(context.dataDir, 'run')
  fs.mkdirSync(sockets, {recursive: true})
  giveTo(context.runAs, sockets)
  // The marker is written only after initdb and database creation both succeeded.
  const marker = path.join(context.dataDir, '.pg-initialized')
  if (!fs.existsSync(marker)) {
    await initialize(binaries, pgdata, context)
    fs.writeFileSync(marker, '')
  }
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
