// Kernel forwarding of the private network (as root, with nftables): while an instance runs, a
// connection to its private IP goes straight to the instance's own socket (the platform's endpoint
// never accepts it), and yet scale-to-zero, the connection count, a drain and the isolation between
// users hold. A real platform with two users; echo and hello instances; clients in this process and
// in child processes under the users' uids.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {setTimeout as delay} from 'node:timers/promises'
import {after, before, describe, it} from 'node:test'

import {UkcClient, createInstance, firstOrThrow, getInstanceMetrics, getInstances, stopInstances} from '../../src/api/index.js'
import type {Instance, InstanceMetrics} from '../../src/api/types.js'
import {recordedBlock, uidBlock} from '../../src/platform/isolation/index.js'
import {runPlatform, type RunningPlatform} from '../../src/platform/index.js'
import {connectAs, kernelIsolationSkip} from './isolation-fixture.js'
import {httpGet} from './runtime-fixture.js'

/** Polls `check` until it returns something other than undefined/false, or throws after `timeoutMs`. */
async function until<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await delay(20)
  }
}

/** A client of an echo: `roundTrip` sends a line and resolves with what came back. */
class EchoClient {
  private readonly socket: net.Socket
  private received = ''
  readonly connected: Promise<void>

  constructor(host: string, port: number) {
    this.socket = net.connect({host, port})
    this.socket.setEncoding('utf8')
    this.socket.on('data', (chunk: string) => (this.received += chunk))
    this.connected = new Promise((resolve, reject) => {
      this.socket.once('connect', resolve)
      this.socket.once('error', reject)
    })
  }

  /** This end's `address:port` (the instance's socket sees it as its peer when the kernel forwarded). */
  get local(): string {
    return `${this.socket.localAddress}:${this.socket.localPort}`
  }

  async roundTrip(line: string): Promise<string> {
    await this.connected
    this.received = ''
    this.socket.write(`${line}\n`)
    return until(`the echo of ${line}`, () => (this.received.endsWith('\n') ? this.received : undefined))
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve()
      this.socket.once('close', () => resolve())
      this.socket.end()
    })
  }
}

/** `address:port` pairs (local → remote) of the machine's TCP sockets (IPv4), from `ss`. */
function sockets(): Array<{local: string; peer: string}> {
  return execFileSync('ss', ['-Htn4'], {encoding: 'utf8'})
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields.length >= 5)
    .map((fields) => ({local: fields[3]!, peer: fields[4]!}))
}

/** True when the instance's own socket at `backend` has `client` as its peer: no platform in between. */
function reachedDirectly(backend: string, client: string): boolean {
  return sockets().some((s) => s.local === backend && s.peer === client)
}


describe('kernel forwarding of the private network', {skip: kernelIsolationSkip()}, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-forwarding-'))
  const dataDir = path.join(dir, 'p')
  let platform: RunningPlatform
  let alice: UkcClient
  let table: string

  const backendOf = (instance: Instance, port: number): string => `${platform.store.instance(instance.uuid)?.backend_ip}:${port}`
  const state = async (instance: Instance) => firstOrThrow(await getInstances(alice, [instance.uuid])).state
  const metrics = async (instance: Instance): Promise<InstanceMetrics> => {
    const [item] = (await getInstanceMetrics(alice, [instance.uuid])).items
    assert.equal(item?.status, 'success', item?.message)
    return item as InstanceMetrics
  }
  /** The kernel forwards `ip:port` now (the element is in the platform's map). */
  const forwarded = (ip: string, port: number): boolean => execFileSync('nft', ['list', 'map', 'inet', table, 'forwards'], {encoding: 'utf8'}).includes(`${ip} . ${port} `)
  const create = async (request: Parameters<typeof createInstance>[1]): Promise<Instance> =>
    firstOrThrow(await createInstance(alice, {autostart: true, wait_timeout_ms: 30_000, ...request}))
  const uidOf = (name: string): number => {
    const user = platform.store.listUsers().find((u) => u.name === name)
    assert.ok(user, name)
    return uidBlock(recordedBlock(dataDir) as number).first + user.index
  }

  before(async () => {
    fs.chmodSync(dir, 0o755)
    platform = await runPlatform({dataDir, apiPort: 0, gatewayPort: 0, users: ['alice', 'bob'], log: () => {}})
    const ca = fs.readFileSync(platform.info.ca, 'utf8')
    alice = new UkcClient({baseUrl: platform.info.url, token: platform.info.users[0]!.token, ca})
    table = `ukc_${uidBlock(recordedBlock(dataDir) as number).first}`
  })
  after(async () => {
    await platform?.close()
    fs.rmSync(dir, {recursive: true, force: true})
  })

  it('reaches a running instance through its private IP without the platform\u2019s endpoint, and counts the connection from the kernel', async () => {
    const echo = await create({image: 'echo', name: 'direct'})
    const ip = echo.private_ip as string
    await until('the kernel to forward the private IP', () => forwarded(ip, 9000))
    const client = new EchoClient(ip, 9000)
    assert.equal(await client.roundTrip('through the kernel'), 'through the kernel\n')
    assert.ok(reachedDirectly(backendOf(echo, 9000), client.local), 'the instance\u2019s own socket has this client as its peer')
    const open = await until('the connection in nconns', async () => {
      const m = await metrics(echo)
      return m.nconns === 1 ? m : undefined
    })
    assert.equal(open.ntotal, 0, 'the platform\u2019s endpoint accepted nothing')
    await client.close()
    await until('nconns back to 0', async () => (await metrics(echo)).nconns === 0)
  })

  it('refuses another user\u2019s uid at the private IP of a forwarded instance, and lets its own user\u2019s uid through', async () => {
    const echo = await create({image: 'echo', name: 'guarded'})
    const ip = echo.private_ip as string
    await until('the kernel to forward the private IP', () => forwarded(ip, 9000))
    assert.equal(await connectAs(uidOf('bob'), ip, 9000), 'ECONNREFUSED', 'bob\u2019s uid')
    assert.equal(await connectAs(uidOf('alice'), ip, 9000), 'connected', 'alice\u2019s uid')
    // The endpoints' rule, kept for forwarded connections: a source in another user's range is refused.
    const fromAddress = (localAddress: string) =>
      new Promise<string>((resolve) => {
        net.connect({host: ip, port: 9000, localAddress})
          .on('connect', function (this: net.Socket) {
            this.destroy()
            resolve('connected')
          })
          .on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message))
      })
    const bobsRange = `127.${16 + (platform.store.listUsers().find((u) => u.name === 'bob')?.index ?? 0)}.0.250`
    assert.equal(await fromAddress(bobsRange), 'ECONNREFUSED', 'from bob\u2019s range')
    assert.equal(await fromAddress(ip.replace(/\.\d+$/, '.250')), 'connected', 'from alice\u2019s range')
  })

  for (const stateful of [true, false]) {
    it(`wakes a ${stateful ? 'stateful' : 'stateless'} standby instance on a connection to its private IP, then forwards again`, async () => {
      const hello = await create({image: 'hello', name: `sleeper-${stateful}`, scale_to_zero: {policy: 'on', cooldown_time_ms: 200, stateful}})
      const ip = hello.private_ip as string
      await until('standby', async () => (await state(hello)) === 'standby')
      assert.equal(forwarded(ip, 8080), false, 'on standby, the platform takes the connections')
      const answer = await httpGet(ip, 8080)
      assert.equal(answer.body, `Hello from sleeper-${stateful}\n`)
      await until('the kernel to forward again once running', async () => forwarded(ip, 8080) || (await state(hello)) === 'standby')
    })
  }

  it('keeps an instance running while a kernel-forwarded connection is open, and scales it to zero after', async () => {
    const kept = await create({image: 'echo', name: 'kept', scale_to_zero: {policy: 'on', cooldown_time_ms: 150, stateful: true}})
    const ip = kept.private_ip as string
    // The first connections may arrive before the rule (through the endpoint): connect until one is forwarded.
    let client: EchoClient | undefined
    await until('a kernel-forwarded connection', async () => {
      if ((await state(kept)) !== 'running') await httpGet(ip, 9000).catch(() => undefined) // wake it
      if (!forwarded(ip, 9000)) return false
      const candidate = new EchoClient(ip, 9000)
      await candidate.roundTrip('hello')
      if (reachedDirectly(backendOf(kept, 9000), candidate.local)) return (client = candidate)
      await candidate.close()
      return false
    })
    assert.ok(client)
    // A control with twice the cooldown, started now: once it is on standby, `kept` had its chance too.
    const control = await create({image: 'echo', name: 'control', scale_to_zero: {policy: 'on', cooldown_time_ms: 300, stateful: true}})
    await until('the control on standby', async () => (await state(control)) === 'standby')
    assert.equal(await state(kept), 'running', 'not on standby with a connection open')
    assert.equal(await client.roundTrip('still there'), 'still there\n', 'and not frozen')
    await client.close()
    await until('standby once the connection is closed', async () => (await state(kept)) === 'standby')
  })

  it('drains a kernel-forwarded connection on a graceful stop', async () => {
    const echo = await create({image: 'echo', name: 'drained'})
    const ip = echo.private_ip as string
    await until('the kernel to forward the private IP', () => forwarded(ip, 9000))
    const client = new EchoClient(ip, 9000)
    assert.equal(await client.roundTrip('before'), 'before\n')
    assert.ok(reachedDirectly(backendOf(echo, 9000), client.local))
    const stopped = stopInstances(alice, [echo.uuid], {drainTimeoutMs: 60_000})
    await until('draining', async () => (await state(echo)) === 'draining')
    await until('no new connection forwarded while draining', () => !forwarded(ip, 9000))
    assert.equal(await client.roundTrip('during the drain'), 'during the drain\n', 'the open connection still works')
    await client.close()
    await stopped
    assert.equal(await state(echo), 'stopped')
  })
})
