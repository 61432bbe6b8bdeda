// Scaling workflows through the real `ukc` binary against the embedded platform: a rolling update
// while requests keep flowing through the gateway (none may fail), autoscale configured with
// `ukc scale`, `ukc instance metrics`, and `ukc image remove` of images registered in images.json.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import https from 'node:https'
import path from 'node:path'
import {after, before, describe, it} from 'node:test'

import type {AutoscaleConfig, Image, Instance, InstanceMetrics, ServiceGroup} from '../../src/api/types.js'
import {Cli, SLOW_SERVER, type Started, buildIfStale, until} from './platform-harness.js'


/** Clients that each send one request at a time over keep-alive through the gateway, until stopped. */
class RequestLoop {
  readonly answers: string[] = []
  readonly failures: string[] = []
  private stopped = false
  private readonly done: Promise<unknown>

  constructor(fqdn: string, port: number, ca: string, clients: number, limit: {requests: number; ms: number}) {
    const deadline = Date.now() + limit.ms
    this.done = Promise.allSettled(
      Array.from({length: clients}, async () => {
        const agent = new https.Agent({keepAlive: true, maxSockets: 1})
        try {
          for (let n = 0; n < limit.requests && !this.stopped && Date.now() < deadline; n++) {
            try {
              const {status, body} = await new Promise<{status: number; body: string}>((resolve, reject) => {
                const request = https.get({host: '127.0.0.1', port, servername: fqdn, ca, headers: {host: fqdn}, agent, timeout: 30_000}, (res) => {
                  let text = ''
                  res.on('data', (chunk: Buffer) => (text += chunk.toString()))
                  res.on('end', () => resolve({status: res.statusCode ?? 0, body: text}))
                  res.on('error', reject)
                })
                request.on('timeout', () => request.destroy(new Error('timeout')))
                request.on('error', reject)
              })
              if (status === 200) this.answers.push(body.trim())
              else this.failures.push(`HTTP ${status}: ${body.trim()}`)
            } catch (error) {
              this.failures.push((error as Error).message)
            }
          }
        } finally {
          agent.destroy()
        }
      }),
    )
  }

  async stop(): Promise<void> {
    this.stopped = true
    await this.done
  }
}

describe('scaling workflows through bin/run.js', () => {
  const cli = new Cli()
  let platform: Started

  before(async () => {
    await buildIfStale()
    platform = await cli.start()
    fs.writeFileSync(path.join(cli.dataDir, 'images.json'), JSON.stringify({'slowweb:latest': {command: [process.execPath, '-e', SLOW_SERVER], port: 8080}}))
  })
  after(() => cli.cleanup())

  const fqdnOf = async (service: string) => (await cli.json<ServiceGroup[]>(['service', 'get', service], {as: 'alice'}))[0].domains?.[0]?.fqdn ?? ''

  it('rolls a service over to a new instance while requests flow through the gateway: not one fails', async () => {
    await cli.json(['service', 'create', '--name', 'shop', '443:8080'], {as: 'alice'})
    await cli.json(['instance', 'create', '--name', 'shop-v1', '--service', 'shop', '--start', '--wait', 'slowweb'], {as: 'alice'})
    const loop = new RequestLoop(await fqdnOf('shop'), platform.gateway.ports['443'], cli.ca(), 4, {requests: 5000, ms: 120_000})
    try {
      await until('requests answered by shop-v1', () => (loop.answers.includes('slow from shop-v1') ? true : undefined))
      const rollout = await cli.run(
        ['instance', 'create', '--name', 'shop-v2', '--service', 'shop', '--start', '--rollout', 'remove', '--rollout-wait', '30s', '--rollout-drain-timeout', '5s', 'slowweb'],
        {as: 'alice'},
      )
      assert.equal(rollout.code, 0, rollout.stderr)
      assert.match(rollout.stderr, /removing 1 existing instance\(s\)/)
      const served = loop.answers.length
      await until('requests answered by shop-v2 after the rollout', () => (loop.answers.slice(served).includes('slow from shop-v2') ? true : undefined))
    } finally {
      await loop.stop()
    }
    assert.deepEqual(loop.failures, [], 'no request failed during the rollout')
    assert.ok(loop.answers.length > 0)
    const names = (await cli.json<Instance[]>(['instance', 'list'], {as: 'alice'})).map((i) => i.name)
    assert.ok(!names.includes('shop-v1') && names.includes('shop-v2'), names.join(', '))
  })

  it('configures autoscale with ukc scale and shows it; the group keeps min_size; reset takes the clones away', async () => {
    const init = await cli.json<AutoscaleConfig[]>(['scale', 'init', 'shop', '--min-size', '2', '--max-size', '3', '--warmup-time', '200ms', '--cooldown-time', '500ms'], {as: 'alice'})
    assert.equal(init[0].enabled, true)
    assert.equal(init[0].master?.name, 'shop-v2', 'the service\'s only instance is the master')
    const added = await cli.run(['scale', 'add', 'shop', '--name', 'busy', '--metric', 'inflight_reqs', '--step', ':2/-1', '--step', '2:4/0', '--step', '4:/1'], {as: 'alice'})
    assert.equal(added.code, 0, added.stderr)
    assert.match(added.stdout, /^ +policies: busy$/m)
    const table = await cli.run(['scale', 'get', 'shop', '-o', 'table'], {as: 'alice'})
    assert.match(table.stdout.split('\n')[1] ?? '', /^shop\s+true\s+2\s+3\s+200\s+500\s+\S+\s+busy$/)
    const policy = await cli.json<Array<{steps: unknown}>>(['scale', 'get', 'shop', '--policy', 'busy'], {as: 'alice'})
    assert.deepEqual(policy[0].steps, [{upper_bound: 2, adjustment: -1}, {lower_bound: 2, upper_bound: 4, adjustment: 0}, {lower_bound: 4, adjustment: 1}])

    const shopInstances = async () => (await cli.json<ServiceGroup[]>(['service', 'get', 'shop'], {as: 'alice'}))[0].instances ?? []
    await until('min_size instances in shop', async () => ((await shopInstances()).length === 2 ? true : undefined), 30_000)
    const again = await cli.run(['scale', 'init', 'shop', '--master', 'shop-v2'], {as: 'alice'})
    assert.equal(again.code, 5, 'already configured: a conflict')

    const reset = await cli.run(['scale', 'reset', 'shop'], {as: 'alice'})
    assert.equal(reset.code, 0, reset.stderr)
    await until('the clone gone', async () => ((await shopInstances()).length === 1 ? true : undefined), 30_000)
    const unconfigured = await cli.run(['scale', 'get', 'shop', '-o', 'table'], {as: 'alice'})
    assert.match(unconfigured.stderr, /autoscale is not configured for shop/)
    assert.equal((await cli.run(['scale', 'reset', 'shop'], {as: 'alice'})).code, 4, 'not configured: not found')
  })

  it('shows instance metrics from the platform', async () => {
    const [m] = await cli.json<InstanceMetrics[]>(['instance', 'metrics', 'shop-v2'], {as: 'alice'})
    assert.equal(m.name, 'shop-v2')
    assert.equal(m.state, 'running')
    assert.ok((m.ntotal ?? 0) > 0 && (m.rx_bytes ?? 0) > 0 && (m.tx_bytes ?? 0) > 0 && (m.cpu_time_ms ?? 0) > 0 && (m.rss_bytes ?? 0) > 0, JSON.stringify(m))
    const table = await cli.run(['instance', 'metrics', 'shop-v2'], {as: 'alice'})
    assert.match(table.stdout, /^NAME\s+STATE\s+RSS\s+CPU TIME\s+CONNECTIONS\s+RX SIZE\s+TX SIZE\s+STARTS\s+TOTAL$/m)
    assert.match(table.stdout, /^shop-v2\s+running\s+\d/m)
  })

  it('removes a registered image with ukc image remove; built-in, used and unknown images are refused', async () => {
    const images = path.join(cli.dataDir, 'images.json')
    const spec = (port: number) => ({command: ['sleep', '600'], port})
    const registered = JSON.parse(fs.readFileSync(images, 'utf8')) as Record<string, unknown>
    fs.writeFileSync(images, JSON.stringify({...registered, 'myapp:latest': spec(9001), 'myapp:2': spec(9002), 'other:1': spec(9003)}, null, 2))
    await cli.json(['instance', 'create', '--name', 'uses-other', 'other:1'], {as: 'alice'})

    const removed = await cli.run(['image', 'remove', 'myapp:latest'], {as: 'alice'})
    assert.equal(removed.code, 0, removed.stderr)
    assert.match(removed.stdout, /^myapp\s+latest\s/m)
    assert.deepEqual(Object.keys(JSON.parse(fs.readFileSync(images, 'utf8')) as object).sort(), ['myapp:2', 'other:1', 'slowweb:latest'])
    const listed = await cli.json<Image[]>(['image', 'list'], {as: 'alice'})
    assert.ok(!listed.some((i) => i.tags?.includes('myapp:latest')))
    assert.ok(listed.some((i) => i.tags?.includes('myapp:2')))

    const used = await cli.run(['image', 'remove', 'other:1'], {as: 'alice'})
    assert.equal(used.code, 5, used.stderr)
    assert.match(used.stderr, /image other:1 is used by instance uses-other; remove it first/)
    const builtin = await cli.run(['image', 'remove', 'hello'], {as: 'alice'})
    assert.equal(builtin.code, 2, builtin.stderr)
    assert.match(builtin.stderr, /is built into the platform and cannot be removed/)
    const unknown = await cli.run(['image', 'remove', 'ghost:1'], {as: 'alice'})
    assert.equal(unknown.code, 4, unknown.stderr)
    assert.match(unknown.stderr, /no image with name: ghost:1/)
    assert.deepEqual(Object.keys(JSON.parse(fs.readFileSync(images, 'utf8')) as object).sort(), ['myapp:2', 'other:1', 'slowweb:latest'], 'refusals change nothing')
  })
})
