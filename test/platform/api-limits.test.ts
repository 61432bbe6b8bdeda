// The API's limits, as a tenant that tries to hurt the others would probe them: oversized bodies get
// 413 in the envelope (not a dropped connection), args/env are bounded, domains cannot be IP literals,
// the platform's own names or a name another user holds.
import assert from 'node:assert/strict'
import http from 'node:http'
import {after, before, describe, it} from 'node:test'

import '../setup.js'
import {MAX_BODY} from '../../src/platform/api/server.js'
import {ApiFixture} from './api-fixture.js'

/** Sends `size` bytes of body (declared or chunked) and resolves with the answer the client could read. */
function bigRequest(port: number, token: string, size: number, declared: boolean): Promise<{status: number; body: {status: string; message: string}}> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {host: '127.0.0.1', port, method: 'POST', path: '/v1/instances', headers: {Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...(declared ? {'Content-Length': size} : {})}},
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as {status: string; message: string}}))
      },
    )
    req.on('error', reject)
    const chunk = Buffer.alloc(64 * 1024, 0x20)
    let sent = 0
    const pump = (): void => {
      while (sent < size) {
        const part = chunk.subarray(0, Math.min(chunk.length, size - sent))
        sent += part.length
        if (!req.write(part)) return void req.once('drain', pump)
      }
      req.end()
    }
    pump()
  })
}

describe('API limits', () => {
  const api = new ApiFixture()
  before(() => api.start(['alice', 'bob']))
  after(() => api.close())

  for (const declared of [true, false]) {
    it(`answers a body over 1 MiB with 413 in the envelope (${declared ? 'Content-Length' : 'chunked'})`, async () => {
      const answer = await bigRequest(api.apiPort, api.token('alice'), MAX_BODY * 2, declared)
      assert.equal(answer.status, 413)
      assert.equal(answer.body.status, 'error')
      assert.match(answer.body.message, /too large: the limit is 1 MiB/)
    })
  }

  it('bounds args and env: at most 253 each, 64 KiB together, no "=" in a name', async () => {
    const create = (extra: Record<string, unknown>) => api.request('POST', '/instances', {as: 'alice', body: {image: 'ukc/hello', ...extra}})
    const manyEnv = Object.fromEntries(Array.from({length: 254}, (_, i) => [`K${i}`, 'v']))
    assert.deepEqual((await create({env: manyEnv})).body, {status: 'error', message: "Value of 'env' must have at most 253 entries"})
    assert.equal((await create({args: Array.from({length: 254}, () => 'a')})).body.message, "Value of 'args' must have at most 253 items")
    const big = await create({env: {BIG: 'x'.repeat(70 * 1024)}})
    assert.equal(big.status, 400)
    assert.match(big.body.message ?? '', /must not exceed 64 KiB together \(got 71 KiB\)/)
    assert.equal((await create({env: {'A=B': 'c'}})).body.message, "Invalid environment variable name 'A=B'")
    const fits = await create({env: {BIG: 'x'.repeat(60 * 1024)}})
    assert.equal(fits.status, 200)
  })

  it('refuses IP literals and the platform\'s own names as domains', async () => {
    for (const name of ['127.0.0.1.', '10.0.0.1.', 'localhost.', 'api.localhost.', 'db.internal.', 'local.localhost.', 'a.b.local.localhost.']) {
      const answer = await api.request('POST', '/services', {as: 'bob', body: {services: [{port: 443, destination_port: 8080}], domains: [{name}]}})
      assert.deepEqual(answer.body, {status: 'error', message: 'Invalid DNS name'}, name)
    }
  })

  it('refuses a domain another user holds, and names above or below it; the holder may nest', async () => {
    const shop = await api.request('POST', '/services', {as: 'alice', body: {services: [{port: 443, destination_port: 8080}], domains: [{name: 'shop.example.test.'}]}})
    assert.equal(shop.status, 200)
    for (const name of ['shop.example.test.', 'api.shop.example.test.', 'example.test.']) {
      const answer = await api.request('POST', '/services', {as: 'bob', body: {services: [{port: 443, destination_port: 8080}], domains: [{name}]}})
      const [item] = answer.body.data?.service_groups ?? []
      assert.equal(item?.error, 23, name)
      assert.match(String(item?.message), /is already in use/)
    }
    const nested = await api.request('POST', '/services', {as: 'alice', body: {services: [{port: 443, destination_port: 8080}], domains: [{name: 'api.shop.example.test.'}]}})
    assert.equal(nested.status, 200)
    assert.equal(nested.body.data?.service_groups[0]?.status, 'success')
  })
})
