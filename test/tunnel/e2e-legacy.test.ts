// `ukc tunnel` legacy mode end to end: the real binary with --tunnel-image official/utils/tunnel:1.0
// against the embedded platform, whose catalog runs the emulated official relay behind the gateway's
// TLS ports (4444.../4443 or their mapped ports).
import {spawnSync} from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import {Cli} from '../e2e/platform-harness.js'
import {collect, connect, sha256} from './harness.js'
import {type TunnelProcess, TunnelProcesses} from './tunnel-process.js'

interface Instance {
  uuid: string
  args?: string[]
  private_ip?: string
}

const cli = new Cli()
const tunnels = new TunnelProcesses(cli, ['--tunnel-image', 'official/utils/tunnel:1.0'])

function openTunnel(args: string[]): Promise<TunnelProcess> {
  return tunnels.open(args, {timeoutMs: 30_000})
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

/** Every process's command line, as any local user can read them (pid → argv). */
function commandLines(): Map<number, string[]> {
  const lines = new Map<number, string[]>()
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      lines.set(Number(entry), fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0'))
    } catch {
      // gone meanwhile
    }
  }
  return lines
}

describe('ukc tunnel legacy mode against the embedded platform', {timeout: 120_000}, () => {
  before(() => cli.startWithEcho())

  after(async () => {
    tunnels.killAll()
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

    // The API shows the args as sent (cookie included, to their owner), but the relay process's own
    // command line, which every local user can read, does not carry the cookie.
    const cookie = relay?.args?.[1]?.split(':')[1] ?? ''
    assert.match(cookie, /^[0-9A-Za-z]{32}$/)
    const lines = commandLines()
    const [pid, argv] = [...lines].find(([, line]) => line.includes(relay?.args?.[3] ?? '-')) ?? []
    assert.ok(pid && argv, 'the relay process is running with its forward list in its args')
    assert.ok(argv.includes('5:$UKC_TUNNEL_COOKIE'), argv.join(' '))
    assert.equal([...lines.values()].filter((line) => line.join(' ').includes(cookie)).length, 0, 'no command line holds the cookie')
    if (process.getuid?.() === 0) {
      // It is in the relay's environment, which another uid cannot read (the platform runs instances
      // unprivileged when it is root).
      assert.ok(fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`UKC_TUNNEL_COOKIE=${cookie}`))
      const stranger = spawnSync(process.execPath, ['-e', `require('fs').readFileSync('/proc/${pid}/environ')`], {uid: 4242, gid: 4242, encoding: 'utf8'})
      assert.notEqual(stranger.status, 0)
      assert.match(stranger.stderr, /EACCES/)
    }

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
