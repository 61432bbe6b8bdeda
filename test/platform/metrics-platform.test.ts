// GET /instances/metrics on a whole platform (runPlatform in this process, real processes, real
// sockets), read with the project's API client: bytes counted on the platform's own sockets, CPU time
// and RSS from procfs, connections and requests, starts (stateless wakes included).
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import fs from 'node:fs'
import https from 'node:https'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {after, before, describe, it} from 'node:test'

import {UkcClient, createInstance, getInstanceMetrics, type Instance, type InstanceMetrics} from '../../src/api/index.js'
import {treeUsage} from '../../src/platform/metrics/index.js'
import {runPlatform, type RunningPlatform} from '../../src/platform/index.js'
import {until} from '../e2e/platform-harness.js'

/** Sends `payload` through a TCP connection and resolves with what came back once the peer closed. */
function echo(host: string, port: number, payload: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({host, port})
    const chunks: Buffer[] = []
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('end', () => resolve(Buffer.concat(chunks)))
    socket.on('error', reject)
    socket.end(payload)
  })
}

describe('instance metrics on the platform', () => {
  let dir: string
  let platform: RunningPlatform
  let client: UkcClient
  let ca: string

  const savedForwarding = process.env.UKC_KERNEL_FORWARDING
  before(async () => {
    // Bytes are counted on the platform's own sockets: keep private connections on its endpoints
    // (as root the kernel would forward them past the platform, uncounted; network-forwarding.test.ts).
    process.env.UKC_KERNEL_FORWARDING = 'off'
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-metrics-platform-'))
    fs.chmodSync(dir, 0o755)
    platform = await runPlatform({dataDir: path.join(dir, 'data'), apiPort: 0, gatewayPort: 0, users: ['alice'], log: () => {}})
    ca = fs.readFileSync(platform.info.ca, 'utf8')
    client = new UkcClient({baseUrl: platform.info.url, token: platform.info.users[0].token, ca})
  })
  after(async () => {
    await platform.close()
    fs.rmSync(dir, {recursive: true, force: true})
    if (savedForwarding === undefined) delete process.env.UKC_KERNEL_FORWARDING
    else process.env.UKC_KERNEL_FORWARDING = savedForwarding
  })

  async function create(request: Parameters<typeof createInstance>[1]): Promise<Instance> {
    const created = await createInstance(client, {autostart: true, wait_timeout_ms: 30_000, ...request})
    const instance = created.items[0]
    assert.equal(instance.status, 'success', instance.message)
    return instance
  }

  async function metrics(name: string): Promise<InstanceMetrics> {
    const [item] = (await getInstanceMetrics(client, [name])).items
    assert.equal(item.status, 'success', item.message)
    return item
  }

  it('counts the bytes a client sent through the private endpoint, and what came back, exactly', async () => {
    const instance = await create({image: 'echo', name: 'echoes'})
    const payload = Buffer.alloc(200_000, 'x')
    const back = await echo(instance.private_ip as string, 9000, payload)
    assert.equal(back.length, payload.length)
    const counted = await until('both directions counted', async () => {
      const m = await metrics('echoes')
      return m.rx_bytes === payload.length && m.tx_bytes === payload.length ? m : undefined
    })
    assert.equal(counted.ntotal, 1, 'one connection handled')
    assert.equal(counted.nconns, 0, 'and none open now')
    assert.equal(counted.state, 'running')
    assert.equal(counted.start_count, 1)
    assert.ok((counted.boot_time_us ?? 0) > 0)
    // The local-scope endpoint answers the same.
    const local = await client.call<InstanceMetrics>('GET', `/instances/${instance.uuid}/metrics`, 'instances', {idempotent: true})
    assert.equal(local.items[0].rx_bytes, payload.length)
  })

  it('reports CPU time and RSS of the instance\'s processes, and HTTP requests through the gateway', async () => {
    const instance = await create({image: 'hello', name: 'greeter', service_group: {services: [{port: 443, destination_port: 8080, handlers: ['http', 'tls']}]}})
    const fqdn = instance.service_group?.domains?.[0]?.fqdn as string
    const port = platform.info.gateway.ports['443']
    const get = () =>
      new Promise<string>((resolve, reject) => {
        https
          .get({host: '127.0.0.1', port, servername: fqdn, headers: {host: fqdn}, ca, agent: false}, (res) => {
            let body = ''
            res.on('data', (chunk: Buffer) => (body += chunk.toString()))
            res.on('end', () => resolve(body))
          })
          .on('error', reject)
      })
    for (let i = 0; i < 5; i++) assert.equal(await get(), 'Hello from greeter\n')
    const m = await metrics('greeter')
    assert.equal(m.ntotal, 5, 'five requests handled')
    assert.equal(m.nreqs, 0)
    assert.ok((m.rx_bytes ?? 0) > 5 * 50, `the requests' bytes reached it (${m.rx_bytes})`)
    assert.ok((m.tx_bytes ?? 0) >= 5 * 'Hello from greeter\n'.length, `the answers came from it (${m.tx_bytes})`)
    assert.ok((m.cpu_time_ms ?? 0) > 0, 'a node process that booted and served used CPU')
    // A node process: tens of MiB resident, certainly between 5 MiB and 1 GiB.
    assert.ok((m.rss_bytes ?? 0) > 5 * 1024 * 1024 && (m.rss_bytes ?? 0) < 1024 * 1024 * 1024, `rss ${m.rss_bytes}`)
  })

  it('counts each wake of a stateless scaled-to-zero instance as a start, and keeps CPU time across starts', async () => {
    const instance = await create({image: 'hello', name: 'sleepy', scale_to_zero: {policy: 'on', cooldown_time_ms: 200, stateful: false}})
    const ip = instance.private_ip as string
    const request = () => echo(ip, 8080, Buffer.from('GET / HTTP/1.1\r\nHost: sleepy\r\nConnection: close\r\n\r\n'))
    assert.match((await request()).toString(), /Hello from sleepy/)
    const first = await until('standby', async () => {
      const m = await metrics('sleepy')
      return m.state === 'standby' ? m : undefined
    })
    assert.equal(first.rss_bytes, 0, 'a stateless standby instance has no process')
    assert.equal(first.start_count, 1)
    assert.ok((first.cpu_time_ms ?? 0) > 0, 'the first run\'s CPU time is kept while it sleeps')

    assert.match((await request()).toString(), /Hello from sleepy/)
    const woken = await metrics('sleepy')
    assert.equal(woken.start_count, 2, 'the wake booted it again: a start')
    assert.ok((woken.cpu_time_ms ?? 0) >= (first.cpu_time_ms ?? 0))
    assert.ok((woken.rss_bytes ?? 0) > 0)
  })

  it('answers per-item not found for an unknown instance', async () => {
    const result = await getInstanceMetrics(client, ['ghost'])
    assert.equal(result.items[0].status, 'error')
    assert.equal(result.items[0].error, 8)
  })
})

describe('process tree usage (procfs)', () => {
  it('adds up a process and its descendants, those in another session too', async (t) => {
    if (!fs.existsSync('/proc/self/stat')) return t.skip('no procfs')
    // sh, a sleep in the background, and one in a session of its own (as Postgres' children are).
    const child = spawn('sh', ['-c', 'sleep 60 & setsid sleep 60 & wait'], {stdio: 'ignore'})
    const pid = child.pid as number
    const children = (): number[] => fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number)
    try {
      const usage = await until('three processes', () => {
        const found = treeUsage(pid)
        return found.processes === 3 ? found : undefined
      })
      assert.ok(usage.rssBytes > 0)
      assert.equal(treeUsage(undefined).processes, 0)
    } finally {
      // The sleeps this test started (by their pids), then the shell.
      for (const sleep of children()) process.kill(sleep, 'SIGKILL')
      child.kill('SIGKILL')
    }
  })
})
