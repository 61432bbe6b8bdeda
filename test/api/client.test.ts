import assert from 'node:assert/strict'
import http from 'node:http'
import type {AddressInfo} from 'node:net'
import {afterEach, describe, it} from 'node:test'

import {NetworkError, UkcClient, createInstance, getInstances} from '../../src/api/index.js'
import {nock} from '../setup.js'

const TOKEN = Buffer.from('robot$alice.users.kraftcloud:s3cret').toString('base64')
const client = (baseUrl = 'http://api.test/v1', timeoutMs?: number) => new UkcClient({baseUrl, token: TOKEN, timeoutMs})
const ok = (items: unknown[]) => ({status: 'success', data: {instances: items}})

describe('UkcClient', () => {
  afterEach(() => nock.cleanAll())

  it('sends the token as Bearer with JSON headers and a JSON body on GET', async () => {
    const scope = nock('http://api.test', {reqheaders: {authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', accept: 'application/json'}})
      .get('/v1/instances', [{name: 'web'}])
      .reply(200, ok([{status: 'success', uuid: 'u1', name: 'web'}]))
    const result = await getInstances(client(), ['web'])
    assert.equal(result.items[0].uuid, 'u1')
    assert.ok(scope.isDone())
  })

  it('retries a GET answered 503 and then succeeds', async () => {
    const scope = nock('http://api.test')
      .get('/v1/instances')
      .reply(503, {status: 'error', message: 'busy'})
      .get('/v1/instances')
      .reply(200, ok([{status: 'success', uuid: 'u1', name: 'web'}]))
    const result = await getInstances(client())
    assert.equal(result.items.length, 1)
    assert.ok(scope.isDone())
  })

  it('never retries a POST', async () => {
    const scope = nock('http://api.test').post('/v1/instances').once().reply(503, {status: 'error', message: 'busy'})
    await assert.rejects(createInstance(client(), {image: 'nginx:latest'}), (error: unknown) => error instanceof NetworkError && error.exitCode === 7)
    assert.ok(scope.isDone())
    assert.equal(nock.pendingMocks().length, 0)
  })

  it('turns a connection refused into a network error (exit 7)', async () => {
    const server = http.createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const {port} = server.address() as AddressInfo
    await new Promise<void>((resolve) => server.close(() => resolve()))
    await assert.rejects(getInstances(new UkcClient({baseUrl: `http://127.0.0.1:${port}/v1`, token: TOKEN, attempts: 1})), (error: unknown) => {
      assert.ok(error instanceof NetworkError)
      assert.equal(error.exitCode, 7)
      assert.match(error.message, /ECONNREFUSED/)
      return true
    })
  })

  it('turns a timeout into a network error (exit 7)', async () => {
    const pending: http.ServerResponse[] = []
    const server = http.createServer((_req, res) => pending.push(res))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const {port} = server.address() as AddressInfo
    try {
      const slow = new UkcClient({baseUrl: `http://127.0.0.1:${port}/v1`, token: TOKEN, timeoutMs: 100, attempts: 1})
      await assert.rejects(getInstances(slow), (error: unknown) => {
        assert.ok(error instanceof NetworkError)
        assert.equal(error.exitCode, 7)
        assert.match(error.message, /timed out|ETIMEDOUT/)
        return true
      })
    } finally {
      for (const res of pending) res.destroy()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})
