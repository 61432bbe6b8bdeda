// Autoscale on a whole platform (runPlatform in this process, real processes, real sockets): load
// driven through the gateway raises the service's instance count up to max_size, the gateway spreads
// requests over the clones, and once the load stops the group falls back to min_size. Waits on
// counts with deadlines; the load is bounded in requests and in time.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import https from 'node:https'
import os from 'node:os'
import path from 'node:path'
import {after, before, describe, it} from 'node:test'

import {UkcClient, addAutoscalePolicy, createAutoscale, createInstance, createService, getServices} from '../../src/api/index.js'
import {runPlatform, type RunningPlatform} from '../../src/platform/index.js'
import {SLOW_SERVER, until} from '../e2e/platform-harness.js'


describe('autoscale on the platform', () => {
  let dir: string
  let platform: RunningPlatform
  let client: UkcClient
  let ca: string

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-autoscale-platform-'))
    fs.chmodSync(dir, 0o755)
    const dataDir = path.join(dir, 'data')
    fs.mkdirSync(dataDir)
    fs.writeFileSync(path.join(dataDir, 'images.json'), JSON.stringify({'slow:latest': {command: [process.execPath, '-e', SLOW_SERVER], port: 8080}}))
    platform = await runPlatform({dataDir, apiPort: 0, gatewayPort: 0, users: ['alice'], log: () => {}, autoscaleTickMs: 100})
    ca = fs.readFileSync(platform.info.ca, 'utf8')
    client = new UkcClient({baseUrl: platform.info.url, token: platform.info.users[0].token, ca})
  })
  after(async () => {
    await platform.close()
    fs.rmSync(dir, {recursive: true, force: true})
  })

  async function size(service: string): Promise<number> {
    const [item] = (await getServices(client, [service])).items
    return item.instances?.length ?? 0
  }

  it('clones the master under load through the gateway up to max_size, and back to min_size when it stops', async () => {
    const [svc] = (await createService(client, {name: 'auto', services: [{port: 443, destination_port: 8080, handlers: ['http', 'tls']}], domains: []})).items
    const fqdn = svc.domains?.[0]?.fqdn as string
    const [master] = (await createInstance(client, {image: 'slow', name: 'auto-master', service_group: {name: 'auto'}, autostart: true, wait_timeout_ms: 30_000})).items
    assert.equal(master.status, 'success', master.message)
    const created = await createAutoscale(client, {name: 'auto', min_size: 1, max_size: 3, warmup_time_ms: 300, cooldown_time_ms: 1000, master: {name: 'auto-master'}})
    assert.equal(created.items[0].status, 'success', created.items[0].message)
    const steps = [{upper_bound: 2, adjustment: -1}, {lower_bound: 2, upper_bound: 4, adjustment: 0}, {lower_bound: 4, adjustment: 1}]
    const policy = await addAutoscalePolicy(client, svc.uuid, {name: 'busy', type: 'step', metric: 'inflight_reqs', adjustment_type: 'change', steps})
    assert.equal(policy.items[0].status, 'success', policy.items[0].message)

    // Eight clients, each one request at a time over keep-alive: about eight requests in flight.
    const port = platform.info.gateway.ports['443']
    const answered = new Map<string, number>()
    const failures: string[] = []
    let stop = false
    const deadline = Date.now() + 90_000
    const client8 = Array.from({length: 8}, async () => {
      const agent = new https.Agent({keepAlive: true, maxSockets: 1, ca, servername: fqdn})
      try {
        for (let n = 0; n < 1500 && !stop && Date.now() < deadline; n++) {
          const {status, body} = await new Promise<{status: number; body: string}>((resolve, reject) => {
            https
              .get({host: '127.0.0.1', port, servername: fqdn, ca, headers: {host: fqdn}, agent}, (res) => {
                let text = ''
                res.on('data', (chunk: Buffer) => (text += chunk.toString()))
                res.on('end', () => resolve({status: res.statusCode ?? 0, body: text}))
              })
              .on('error', reject)
          })
          if (status !== 200) failures.push(`${status} ${body.trim()}`)
          else answered.set(body, (answered.get(body) ?? 0) + 1)
        }
      } finally {
        agent.destroy()
      }
    })
    const load = Promise.allSettled(client8)

    let largest = 1
    try {
      await until('the group at max_size under load', async () => {
        largest = Math.max(largest, await size('auto'))
        return largest >= 3 ? true : undefined
      }, 60_000)
    } finally {
      stop = true
      await load
    }
    assert.deepEqual(failures, [], 'every request through the gateway was answered')
    assert.ok(answered.size >= 2, `the gateway balanced over the clones (${[...answered.keys()].join(', ')})`)

    const sizes: number[] = []
    await until('the group back at min_size', async () => {
      sizes.push(await size('auto'))
      return sizes.at(-1) === 1 ? true : undefined
    }, 60_000)
    assert.ok(Math.max(largest, ...sizes) <= 3, `never more than max_size (${largest}, ${sizes.join(' ')})`)
    const [left] = (await getServices(client, ['auto'])).items
    assert.equal(left.instances?.[0]?.name, 'auto-master', 'the master stays')
  })
})
