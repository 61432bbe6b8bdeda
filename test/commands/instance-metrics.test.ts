import assert from 'node:assert/strict'
import {afterEach, describe, it} from 'node:test'

import {TARGET, UUID1, UUID2, api, envelope, instanceObject, nock, notFound, ukc} from './harness.js'

const MiB = 1024 * 1024

/** A metrics item as `GET /instances/metrics` answers it (SDK MetricsResponseItem). */
function metricsObject(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    status: 'success',
    uuid: UUID1,
    name: 'web',
    state: 'running',
    start_count: 3,
    restart_count: 1,
    uptime_ms: 10_000,
    boot_time_us: 19810,
    net_time_us: 20112,
    rss_bytes: 32 * MiB,
    cpu_time_ms: 62_500,
    rx_bytes: 2048,
    rx_packets: 12,
    tx_bytes: 3 * MiB,
    tx_packets: 40,
    nconns: 2,
    nreqs: 1,
    nqueued: 0,
    ntotal: 57,
    ...overrides,
  }
}

describe('instance metrics', () => {
  afterEach(() => nock.cleanAll())

  it('GETs /instances/metrics for the named instances and prints kraft\'s columns plus connections and bytes', async () => {
    const scope = api()
      .get('/v1/instances/metrics', [{name: 'web'}, {uuid: UUID2}])
      .reply(200, envelope('instances', [metricsObject(), metricsObject({uuid: UUID2, name: 'db', state: 'standby', rss_bytes: 0, cpu_time_ms: 230, nconns: 0})]))
    const {stdout, exitCode} = await ukc(['instance', 'metrics', 'web', UUID2, ...TARGET])
    assert.ok(scope.isDone())
    assert.equal(exitCode, 0)
    const lines = stdout.trimEnd().split('\n')
    assert.match(lines[0], /^NAME\s+STATE\s+RSS\s+CPU TIME\s+CONNECTIONS\s+RX SIZE\s+TX SIZE\s+STARTS\s+TOTAL$/)
    assert.match(lines[1], /^web\s+running\s+32 MiB\s+1m2\.5s\s+2\s+2\.0 KiB\s+3\.0 MiB\s+3\s+57$/)
    assert.match(lines[2], /^db\s+standby\s+0 B\s+230ms\s+0\s+/)
  })

  it('lists every counter in the list format', async () => {
    api().get('/v1/instances/metrics').reply(200, envelope('instances', [metricsObject()]))
    const {stdout} = await ukc(['inst', 'metric', 'web', '-o', 'list', ...TARGET])
    for (const line of [`uuid: ${UUID1}`, 'rx packets: 12', 'tx packets: 40', 'requests: 1', 'queued: 0', 'restarts: 1', 'uptime: 10s', 'boot time: 19.81 ms', 'net time: 20.11 ms', 'total: 57']) {
      assert.match(stdout, new RegExp(`^ *${line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'))
    }
  })

  it('reads every instance when none is named', async () => {
    api().get('/v1/instances', (body) => !body).reply(200, envelope('instances', [instanceObject()]))
    const scope = api().get('/v1/instances/metrics', [{uuid: UUID1}]).reply(200, envelope('instances', [metricsObject()]))
    const {exitCode} = await ukc(['instance', 'metrics', ...TARGET])
    assert.ok(scope.isDone())
    assert.equal(exitCode, 0)
  })

  it('exits 4 for an instance that does not exist and still prints the others', async () => {
    api()
      .get('/v1/instances/metrics')
      .reply(200, {status: 'partial_success', data: {instances: [metricsObject(), notFound('instances', 'ghost').data.instances[0]]}})
    const {stdout, stderr, exitCode} = await ukc(['instance', 'metrics', 'web', 'ghost', ...TARGET])
    assert.equal(exitCode, 4)
    assert.equal(stderr, 'Error: ghost: instance not found\n')
    assert.match(stdout, /^web\s+running/m)
  })
})

describe('instance top', () => {
  const wasTTY = process.stdout.isTTY
  afterEach(() => {
    process.stdout.isTTY = wasTTY
    nock.cleanAll()
  })

  it('prints one snapshot when stdout is not a terminal', async () => {
    process.stdout.isTTY = false
    api().get('/v1/instances/metrics', [{name: 'web'}]).reply(200, envelope('instances', [metricsObject()]))
    const {stdout, exitCode} = await ukc(['instance', 'top', 'web', ...TARGET])
    assert.equal(exitCode, 0)
    assert.ok(!stdout.includes('\x1b'), 'no escape codes')
    assert.match(stdout, /^NAME\s+STATE\s+RSS\s+CPU TIME/)
    assert.deepEqual(nock.pendingMocks(), [])
  })

  it('redraws in place on a terminal with the CPU share since the last frame, until Ctrl-C (exit 0)', async () => {
    process.stdout.isTTY = true
    const instances = envelope('instances', [instanceObject({name: 'web', memory_mb: 128})])
    api().get('/v1/instances', [{name: 'web'}]).times(3).reply(200, instances)
    api().get('/v1/instances/metrics', [{name: 'web'}]).reply(200, envelope('instances', [metricsObject({cpu_time_ms: 1000, uptime_ms: 10_000})]))
    api().get('/v1/instances/metrics', [{name: 'web'}]).reply(200, envelope('instances', [metricsObject({cpu_time_ms: 1500, uptime_ms: 12_000})]))
    api()
      .get('/v1/instances/metrics', [{name: 'web'}])
      .reply(200, () => {
        // The user has seen the second frame; this third one may or may not make it to the screen.
        setImmediate(() => process.emit('SIGINT'))
        return envelope('instances', [metricsObject({cpu_time_ms: 1500, uptime_ms: 14_000})])
      })
    const {stdout, exitCode} = await ukc(['instance', 'top', 'web', '--interval', '500ms', ...TARGET])
    assert.equal(exitCode, 0)
    const frames = stdout.split('\x1b[H\x1b[2J').slice(1)
    assert.ok(frames.length >= 2, `frames: ${frames.length}`)
    assert.match(frames[0], /^NAME\s+STATE\s+UPTIME\s+CPU\s+MEM\s+CONNS\s+REQS\s+NET RX \/ TX\s+STARTS$/m)
    assert.match(frames[0], /^web\s+running\s+10s\s+-\s+32 MiB \/ 128 MiB\s+2\s+1\s+2\.0 KiB \/ 3\.0 MiB\s+3$/m)
    assert.match(frames[1], /^web\s+running\s+12s\s+25\.0%\s+32 MiB \/ 128 MiB/m)
    assert.equal(process.listenerCount('SIGINT'), 0)
  })
})
