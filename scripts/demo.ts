// npm run demo — the main job in one command: start the embedded platform in a temp dir, create a
// private Postgres instance (Redis when Postgres is not installed), open `ukc tunnel` to it, run a
// query with a real client through the tunnel, and clean everything up. Prints each step.
import {type ChildProcess, execFileSync, spawn} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {setTimeout as delay} from 'node:timers/promises'
import {fileURLToPath} from 'node:url'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
// bin/dev.js runs the sources, so the demo works on a fresh checkout without a build.
const BIN = path.join(ROOT, 'bin', fs.existsSync(path.join(ROOT, 'oclif.manifest.json')) && fs.existsSync(path.join(ROOT, 'dist')) ? 'run.js' : 'dev.js')
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-demo-'))
fs.chmodSync(dir, 0o755)
const env: NodeJS.ProcessEnv = {...process.env, UKC_LOCAL_DIR: path.join(dir, 'platform'), XDG_CONFIG_HOME: path.join(dir, 'config'), XDG_DATA_HOME: path.join(dir, 'data'), UKC_NO_PROMPT: '1'}
for (const name of Object.keys(env)) if (/^(UKC_(TOKEN|METRO|PROFILE)|KRAFTCLOUD_|KC_|UNIKRAFTCLOUD_)/.test(name)) delete env[name]

let step = 0
function say(text: string): void {
  const bold = process.stdout.isTTY && !process.env.NO_COLOR ? (t: string) => `\x1b[1m${t}\x1b[0m` : (t: string) => t
  process.stdout.write(`\n${bold(`${++step}. ${text}`)}\n`)
}

function ukc(args: string[], options: {quiet?: boolean} = {}): string {
  process.stdout.write(`$ ukc ${args.join(' ')}\n`)
  const out = execFileSync(process.execPath, [BIN, ...args], {env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 180_000})
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

let tunnel: ChildProcess | undefined

async function main(): Promise<void> {
  say(`Start the embedded platform in ${dir}`)
  ukc(['local', 'start', '--api-port', '0', '--gateway-port', '0'])

  say('Create a private database instance (no published ports: reachable only on the private network)')
  let kind: 'postgres' | 'redis' = 'postgres'
  if (!tryUkc(['instance', 'create', '--name', 'db', '--env', 'POSTGRES_PASSWORD=demo', '--start', '--wait', 'postgres:15'])) {
    process.stdout.write('Postgres is not available here; using Redis instead.\n')
    kind = 'redis'
    ukc(['instance', 'create', '--name', 'db', '--start', '--wait', 'redis:7'])
  }
  const destPort = kind === 'postgres' ? 5432 : 6379

  say(`Open a tunnel to it: ukc tunnel 0:db:${destPort}`)
  process.stdout.write(`$ ukc tunnel --json 0:db:${destPort}\n`)
  tunnel = spawn(process.execPath, [BIN, 'tunnel', '--json', `0:db:${destPort}`], {env, stdio: ['ignore', 'pipe', 'inherit']})
  let out = ''
  tunnel.stdout?.on('data', (d: Buffer) => (out += d.toString()))
  const deadline = Date.now() + 90_000
  while (!out.includes('\n')) {
    if (tunnel.exitCode !== null) throw new Error(`ukc tunnel exited with ${tunnel.exitCode}`)
    if (Date.now() > deadline) throw new Error('the tunnel did not become ready in 90 s')
    await delay(50)
  }
  const ready = JSON.parse(out.split('\n')[0] as string) as {relay: {uuid: string; fqdn: string}; mappings: Array<{local: string; target: string}>}
  process.stdout.write(`${out.split('\n')[0]}\n`)
  const port = Number(ready.mappings[0]?.local.split(':').pop())

  say(`Query the database through the tunnel at 127.0.0.1:${port} with a real client`)
  if (kind === 'postgres') {
    const {default: pg} = await import('pg')
    const client = new pg.Client({host: '127.0.0.1', port, user: 'postgres', password: 'demo', database: 'postgres'})
    await client.connect()
    await client.query('CREATE TABLE IF NOT EXISTS greetings (id serial PRIMARY KEY, text text)')
    await client.query("INSERT INTO greetings (text) VALUES ('hello through ukc tunnel')")
    const {rows} = await client.query<{id: number; text: string; version: string}>('SELECT id, text, version() AS version FROM greetings')
    for (const row of rows) process.stdout.write(`  row ${row.id}: ${row.text}  (${row.version.split(',')[0]})\n`)
    await client.end()
  } else {
    const {Redis} = await import('ioredis')
    const redis = new Redis({host: '127.0.0.1', port, lazyConnect: true})
    await redis.connect()
    await redis.set('greeting', 'hello through ukc tunnel')
    process.stdout.write(`  GET greeting → ${await redis.get('greeting')}\n`)
    redis.disconnect()
  }

  say('Stop the tunnel (Ctrl-C): it drains and deletes its relay instance')
  const exited = new Promise<number | null>((resolve) => tunnel?.once('exit', (code) => resolve(code)))
  tunnel.kill('SIGINT')
  process.stdout.write(`ukc tunnel exited with ${await exited}\n`)
  ukc(['instance', 'list'])
}

main()
  .catch((error: Error) => {
    process.stderr.write(`demo failed: ${error.message}\n`)
    process.exitCode = 1
  })
  .finally(() => {
    if (tunnel && tunnel.exitCode === null) tunnel.kill('SIGKILL')
    say('Clean up: stop the platform and remove its temp dir')
    tryUkc(['local', 'stop'])
    fs.rmSync(dir, {recursive: true, force: true})
  })
