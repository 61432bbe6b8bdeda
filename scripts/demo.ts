// npm run demo — the main job in one command, on a machine with only Node: start the embedded
// platform in a temp dir, create a volume and a private Postgres instance that keeps its database on
// it, open `ukc tunnel` to it and insert a row with a real client, then replace the instance (remove
// it, create a new one on the same volume), tunnel again and read the row back. Prints each step and
// cleans everything up. Postgres is the host's or the npm one (UKC_POSTGRES=npm forces the latter).
import {type ChildProcess, execFileSync, spawn} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import pg from 'pg'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
// bin/dev.js runs the sources, so the demo works on a fresh checkout without a build.
const BIN = path.join(ROOT, 'bin', fs.existsSync(path.join(ROOT, 'oclif.manifest.json')) && fs.existsSync(path.join(ROOT, 'dist')) ? 'run.js' : 'dev.js')
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-demo-'))
fs.chmodSync(dir, 0o755)
const env: NodeJS.ProcessEnv = {...process.env, UKC_LOCAL_DIR: path.join(dir, 'platform'), XDG_CONFIG_HOME: path.join(dir, 'config'), XDG_DATA_HOME: path.join(dir, 'data'), UKC_NO_PROMPT: '1'}
for (const name of Object.keys(env)) if (/^(UKC_(TOKEN|METRO|PROFILE)|KRAFTCLOUD_|KC_|UNIKRAFTCLOUD_)/.test(name)) delete env[name]

const PASSWORD = 'demo'
const DB = ['--name', 'db', '--env', `POSTGRES_PASSWORD=${PASSWORD}`, '--volume', 'pgdata:/var/lib/postgresql/data', '--start', '--wait', '--wait-timeout', '120s', 'postgres:16']

let step = 0
function say(text: string): void {
  const bold = process.stdout.isTTY && !process.env.NO_COLOR ? (t: string) => `\x1b[1m${t}\x1b[0m` : (t: string) => t
  process.stdout.write(`\n${bold(`${++step}. ${text}`)}\n`)
}

function ukc(args: string[], options: {quiet?: boolean} = {}): string {
  if (!options.quiet) process.stdout.write(`$ ukc ${args.join(' ')}\n`)
  let out: string
  try {
    out = execFileSync(process.execPath, [BIN, ...args], {env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 180_000})
  } catch (error) {
    // Its own error line is already on stderr.
    throw new Error(`ukc ${args.join(' ')} failed (exit ${(error as {status?: number}).status ?? '?'})`)
  }
  if (!options.quiet) process.stdout.write(out)
  return out
}

function tryUkc(args: string[]): boolean {
  try {
    ukc(args)
    return true
  } catch {
    return false
  }
}

/** The tunnel child of the moment (killed in the clean-up if the demo fails while it runs). */
let tunnel: ChildProcess | undefined

/** `ukc tunnel --json 0:db:5432` until its ready line; resolves with the local port. */
function openTunnel(): Promise<number> {
  process.stdout.write('$ ukc tunnel --json 0:db:5432\n')
  const child = spawn(process.execPath, [BIN, 'tunnel', '--json', '0:db:5432'], {env, stdio: ['ignore', 'pipe', 'inherit']})
  tunnel = child
  return new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error('the tunnel did not become ready in 90 s')), 90_000)
    const exited = (code: number | null): void => {
      clearTimeout(timer)
      reject(new Error(`ukc tunnel exited with ${code} before it was ready`))
    }
    child.once('exit', exited)
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const line = out.split('\n')
      if (line.length < 2) return
      clearTimeout(timer)
      child.off('exit', exited)
      process.stdout.write(`${line[0]}\n`)
      const ready = JSON.parse(line[0] as string) as {mappings: Array<{local: string}>}
      resolve(Number(ready.mappings[0]?.local.split(':').pop()))
    })
  })
}

/** Ctrl-C: the tunnel drains and deletes its relay instance. */
async function closeTunnel(): Promise<void> {
  const child = tunnel
  if (!child) return
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  child.kill('SIGINT')
  process.stdout.write(`ukc tunnel exited with ${await exited}\n`)
  tunnel = undefined
}

async function query<Row extends pg.QueryResultRow>(port: number, sql: string[]): Promise<Row[]> {
  const client = new pg.Client({host: '127.0.0.1', port, user: 'postgres', password: PASSWORD, database: 'postgres'})
  await client.connect()
  try {
    let rows: Row[] = []
    for (const statement of sql) rows = (await client.query<Row>(statement)).rows
    return rows
  } finally {
    await client.end()
  }
}

function uuidOf(name: string): string {
  return (JSON.parse(ukc(['instance', 'get', name, '--json'], {quiet: true})) as Array<{uuid: string}>)[0]?.uuid ?? '?'
}

/** The platform's own lines in the instance log: which PostgreSQL server runs it, and from where. */
function showServer(name: string): void {
  for (const line of ukc(['instance', 'logs', name], {quiet: true}).split('\n')) if (line.startsWith('ukc: ')) process.stdout.write(`  ${line}\n`)
}

async function main(): Promise<void> {
  say(`Start the embedded platform in ${dir}`)
  ukc(['local', 'start', '--api-port', '0', '--gateway-port', '0'])

  say('Create a volume for the database')
  ukc(['volume', 'create', '--name', 'pgdata', '--size', '256Mi'])

  say('Create a private Postgres instance with its data on the volume (no published ports: only the private network reaches it)')
  ukc(['instance', 'create', ...DB])
  const first = uuidOf('db')
  showServer('db')

  say('Open a tunnel to it and insert a row with a real client (pg)')
  let port = await openTunnel()
  const written = `written by instance ${first}`
  const inserted = await query<{id: number; text: string; version: string}>(port, [
    'CREATE TABLE IF NOT EXISTS greetings (id serial PRIMARY KEY, text text)',
    `INSERT INTO greetings (text) VALUES ('${written}')`,
    'SELECT id, text, version() AS version FROM greetings',
  ])
  for (const row of inserted) process.stdout.write(`  row ${row.id}: ${row.text}  (${row.version.split(',')[0]})\n`)
  await closeTunnel()

  say('Replace the instance: remove it, create a new one on the same volume')
  ukc(['instance', 'remove', 'db'])
  ukc(['instance', 'create', ...DB])
  const second = uuidOf('db')
  showServer('db')

  say('Tunnel to the new instance and read the row back')
  port = await openTunnel()
  const rows = await query<{id: number; text: string}>(port, ['SELECT id, text FROM greetings ORDER BY id'])
  for (const row of rows) process.stdout.write(`  row ${row.id}: ${row.text}\n`)
  await closeTunnel()
  if (!rows.some((row) => row.text === written)) throw new Error(`the row written by instance ${first} is not in the database of instance ${second}`)
  process.stdout.write(`The row survived replacing the instance: ${first} wrote it, ${second} read it from the volume pgdata.\n`)

  ukc(['instance', 'list'])
  ukc(['volume', 'list'])
}

/** Mounts below the demo's dir (a loop-mounted volume), which must not be deleted through. */
function mountsUnder(root: string): string[] {
  try {
    return fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((line) => line.split(' ')[4] ?? '')
      .filter((point) => point.startsWith(`${root}/`))
  } catch {
    return []
  }
}

main()
  .catch((error: Error) => {
    process.stderr.write(`demo failed: ${error.message}\n`)
    process.exitCode = 1
  })
  .finally(() => {
    if (tunnel && tunnel.exitCode === null) tunnel.kill('SIGKILL')
    say('Clean up: remove the instance and the volume, stop the platform, remove its temp dir')
    tryUkc(['instance', 'remove', '--all', '--yes'])
    tryUkc(['volume', 'remove', 'pgdata'])
    tryUkc(['local', 'stop'])
    const mounted = mountsUnder(dir)
    if (mounted.length > 0) {
      process.stderr.write(`left ${dir} in place: ${mounted.join(', ')} is still mounted\n`)
      process.exitCode = 1
    } else {
      fs.rmSync(dir, {recursive: true, force: true})
    }
  })
