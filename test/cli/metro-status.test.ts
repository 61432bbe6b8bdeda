import assert from 'node:assert/strict'
import http from 'node:http'
import net from 'node:net'
import type {AddressInfo} from 'node:net'
import {after, before, describe, it} from 'node:test'

import '../setup.js'
import {probeApi} from '../../src/api/index.js'
import {type MetroRow, probeRows} from '../../src/cli/index.js'

const url = (server: net.Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`
const listen = <S extends net.Server>(server: S) => new Promise<S>((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
const close = (server: net.Server) => new Promise<void>((resolve) => server.close(() => resolve()))

describe('metro status probes', () => {
  const authorizations: Array<string | undefined> = []
  let api: http.Server
  let notApi: http.Server
  let silent: net.Server
  const held = new Set<net.Socket>()
  let refused = ''

  before(async () => {
    api = await listen(http.createServer((req, res) => {
      authorizations.push(req.headers.authorization)
      res.writeHead(401, {'Content-Type': 'application/json'}).end('{"status":"error","message":"Missing authorization token"}')
    }))
    notApi = await listen(http.createServer((_req, res) => res.writeHead(200).end('hello')))
    // Accepts connections and never answers.
    silent = await listen(net.createServer((socket) => {
      held.add(socket)
      socket.on('close', () => held.delete(socket))
    }))
    const gone = await listen(net.createServer())
    refused = url(gone)
    await close(gone)
  })
  after(async () => {
    for (const socket of held) socket.destroy()
    await Promise.all([close(api), close(notApi), close(silent)])
  })

  it('calls a metro online when its API answers 401, without sending a token', async () => {
    const probe = await probeApi(url(api), {timeoutMs: 2000})
    assert.equal(probe.online, true)
    assert.equal(typeof probe.latencyMs, 'number')
    assert.deepEqual(authorizations, [undefined])
  })

  it('probes every metro in parallel: silent, refusing and non-API servers are offline with the reason, online ones come first', async () => {
    const rows: MetroRow[] = [
      {code: 'silent', location: 'a', api: url(silent), legacy: false},
      {code: 'refused', location: 'b', api: refused, legacy: false},
      {code: 'other', location: 'c', api: url(notApi), legacy: false},
      {code: 'up', location: 'd', api: url(api), legacy: false},
      {code: 'local', location: 'e', api: '', legacy: false},
    ]
    const probed = await probeRows(rows, {timeoutMs: 300})
    assert.deepEqual(probed.map((r) => [r.code, r.status, r.reason]), [
      ['up', 'online', undefined],
      ['silent', 'offline', 'timed out'],
      ['refused', 'offline', 'ECONNREFUSED'],
      ['other', 'offline', 'HTTP 200 (not the Unikraft Cloud API)'],
      ['local', 'offline', 'not started'],
    ])
    assert.equal(typeof probed[0].latency_ms, 'number')
    assert.equal(probed[1].latency_ms, undefined)
  })
})
