// `ukc tunnel` legacy mode end to end: the real binary with --tunnel-image official/utils/tunnel:1.0
// against the embedded platform, whose catalog runs the emulated official relay behind the gateway's
// TLS ports (4444.../4443 or their mapped ports).
import {type ChildProcess, spawn} from 'node:child_process'
import crypto from 'node:crypto'
import path from 'node:path'
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import {Cli, ROOT, buildIfStale, until} from '../e2e/platform-harness.js'
import {collect, connect, sha256} from './harness.js'

interface Ready {
  status: 'ready'
  relay: {uuid: string; fqdn: string}
  mappings: Array<{local: string; target: string}>
}

interface Instance {
  uuid: string
  args?: string[]
  private_ip?: string
}

const cli = new Cli()
const tunnels = new Set<ChildProcess>()

async function openTunnel(args: string[]): Promise<{child: ChildProcess; ready: Ready; exited: Promise<number | null>}> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'run.js'), 'tunnel', '--json', '--tunnel-image', 'official/utils/tunnel:1.0', ...args], {env: cli.env(), stdio: ['ignore', 'pipe', 'pipe']})
  tunnels.add(child)
  let out = ''
  let err = ''
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  exited.then(() => tunnels.delete(child), () => undefined)
  const ready = await until(`the legacy tunnel to be ready (${args.join(' ')})`, () => {
    if (child.exitCode !== null) throw new Error(`ukc tunnel exited ${child.exitCode}: ${err}`)
    const line = out.split('\n').find((l) => l.startsWith('{'))
    return line ? (JSON.parse(line) as Ready) : undefined
  }, 30_000)
  return {child, ready, exited}
}

/** Sends `payload` and half-closes; resolves with what came back once the far side closed. */
async function roundTrip(port: number, payload: Buffer): Promise<Buffer> {
  const socket = await connect(port)
  const got = collect(socket)
  socket.end(payload)
  const {data, error} = await got
  assert.equal(error, undefined)
  return data
}

describe('ukc tunnel legacy mode against the embedded platform', {timeout: 120_000}, () => {
  before(async () => {
    await buildIfStale()
    await cli.start()
    const created = await cli.run(['instance', 'create', '--name', 'echo', '--start', '--wait', 'ukc/echo'])
    assert.equal(created.code, 0, created.stderr)
  })

  after(async () => {
    for (const child of tunnels) child.kill('SIGKILL')
    await cli.cleanup()
  })

  it('echoes bytes through the official relay protocol with half-close, and Ctrl-C deletes the relay', async () => {
    const {child, ready, exited} = await openTunnel(['0:echo:9000'])
    assert.equal(ready.mappings[0]?.target, 'echo:9000')
    const all = await cli.json<Instance[]>(['instance', 'list'])
    const echo = all.find((i) => i.uuid !== ready.relay.uuid)
    const relay = all.find((i) => i.uuid === ready.relay.uuid)
    assert.deepEqual(relay?.args?.slice(0, 3).map((a) => a.replace(/:[0-9A-Za-z]{32}$/, ':<cookie>')), ['4443:5', '5:<cookie>', '600'])
    assert.equal(relay?.args?.[3], `[TCP2TCP:${echo?.private_ip}:9000:4444:27]`)

    const port = Number(ready.mappings[0]?.local.split(':').pop())
    const payloads = Array.from({length: 4}, (_, i) => crypto.randomBytes(256 * 1024 + i))
    const echoed = await Promise.all(payloads.map((p) => roundTrip(port, p)))
    assert.deepEqual(echoed.map(sha256), payloads.map(sha256))

    child.kill('SIGINT')
    assert.equal(await exited, 0)
    const left = await cli.json<Instance[]>(['instance', 'list'])
    assert.equal(left.some((i) => i.uuid === ready.relay.uuid), false)
  })

  it('honours -p/-P and reaches a private FQDN', async () => {
    const {child, ready, exited} = await openTunnel(['-p', '5444', '-P', '5443', '0:echo.internal:9000'])
    const [relay] = await cli.json<Instance[]>(['instance', 'get', ready.relay.uuid])
    assert.equal(relay?.args?.[0], '5443:5')
    assert.equal(relay?.args?.[3], '[TCP2TCP:echo.internal:9000:5444:27]')
    const payload = Buffer.from('through 5444')
    assert.equal((await roundTrip(Number(ready.mappings[0]?.local.split(':').pop()), payload)).toString(), 'through 5444')
    child.kill('SIGTERM')
    assert.equal(await exited, 0)
  })
})
