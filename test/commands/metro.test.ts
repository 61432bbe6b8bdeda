import assert from 'node:assert/strict'
import {afterEach, before, describe, it} from 'node:test'

import {nock, ukc} from './harness.js'

describe('metro list', () => {
  before(() => {
    delete process.env.UKC_LOCAL_DIR // the harness's data dir has no running platform
  })
  afterEach(() => nock.cleanAll())

  it('lists the metros with their API URLs', async () => {
    const {stdout, exitCode} = await ukc(['metro', 'list'])
    assert.equal(exitCode, 0)
    assert.match(stdout, /^CODE\s+LOCATION\s+API\s+LEGACY$/m)
    assert.match(stdout, /^fra\s+Frankfurt, DE\s+https:\/\/api\.fra\.unikraft\.cloud\/v1\s+false$/m)
    assert.match(stdout, /^fra0\s+Frankfurt, DE\s+https:\/\/api\.fra0\.kraft\.cloud\/v1\s+true$/m)
    assert.doesNotMatch(stdout, /STATUS/)
  })

  it('--status pings every API (expecting 401), shows online ones first with their latency, and why the others are offline', async () => {
    const fra = nock('https://api.fra.unikraft.cloud').get('/').reply(401, {status: 'error'})
    const sin0 = nock('https://api.sin0.kraft.cloud').get('/').reply(401, {status: 'error'})
    nock('https://api.dal.unikraft.cloud').get('/').reply(503, 'unavailable')
    // Every other metro is unreachable here: nock refuses connections it has no reply for.
    const {stdout, exitCode} = await ukc(['m', 'ls', '--status'])
    assert.ok(fra.isDone() && sin0.isDone())
    assert.equal(exitCode, 0)
    const lines = stdout.trimEnd().split('\n')
    assert.match(lines[0], /^CODE\s+LOCATION\s+API\s+LEGACY\s+STATUS\s+PING$/)
    assert.deepEqual(lines.slice(1, 3).map((l) => l.split(/\s+/)[0]).sort(), ['fra', 'sin0'])
    assert.match(lines[1], /\sonline\s+\d+ ms$/)
    assert.match(stdout, /^dal\s.*\soffline \(HTTP 503 \(not the Unikraft Cloud API\)\)$/m)
    assert.match(stdout, /^local\s+this machine \(ukc local start\)\s+false\s+offline \(not started\)$/m)
    assert.equal(lines.length, 11)
  })

  it('--status --json prints each metro with its status and latency', async () => {
    nock('https://api.was.unikraft.cloud').get('/').reply(401)
    const {stdout} = await ukc(['metro', 'list', '--status', '--json'])
    const rows = JSON.parse(stdout) as Array<{code: string; status: string; latency_ms?: number; reason?: string}>
    assert.equal(rows[0].code, 'was')
    assert.equal(rows[0].status, 'online')
    assert.equal(typeof rows[0].latency_ms, 'number')
    assert.ok(rows.slice(1).every((r) => r.status === 'offline' && typeof r.reason === 'string'))
  })
})
