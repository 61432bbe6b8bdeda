// The trust of `send` (src/api/transport.ts): with a CA given (the local platform's, as target.ts
// decides), that CA's certificates are trusted and another CA's are refused with a one-line hint.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import https from 'node:https'
import type {AddressInfo} from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {after, before, describe, it} from 'node:test'

import {NetworkError} from '../../src/api/errors.js'
import {send} from '../../src/api/transport.js'
import {CertificateAuthority} from '../../src/platform/tls/index.js'

describe('send over HTTPS with the local platform CA', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-transport-test-'))
  let server: https.Server
  let url: URL
  let platformCa = ''
  let otherCa = ''

  before(async () => {
    fs.mkdirSync(path.join(dir, 'platform'))
    fs.mkdirSync(path.join(dir, 'other'))
    const platform = await CertificateAuthority.loadOrCreate(path.join(dir, 'platform'))
    const other = await CertificateAuthority.loadOrCreate(path.join(dir, 'other'))
    platformCa = platform.certPem
    otherCa = other.certPem
    const leaf = await platform.issue(['127.0.0.1'])
    server = https.createServer({cert: leaf.cert, key: leaf.key}, (_req, res) => res.end('{"status":"success"}'))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = new URL(`https://127.0.0.1:${(server.address() as AddressInfo).port}/v1/instances`)
  })
  after(async () => {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
    fs.rmSync(dir, {recursive: true, force: true})
  })

  it('trusts a server signed by the given CA', async () => {
    const response = await send({method: 'GET', url, headers: {}, timeoutMs: 10_000, ca: platformCa})
    assert.equal(response.status, 200)
    assert.equal(response.text, '{"status":"success"}')
  })

  it('refuses it with another CA, or with the system roots alone, and says where to look', async () => {
    for (const ca of [otherCa, undefined]) {
      await assert.rejects(send({method: 'GET', url, headers: {}, timeoutMs: 10_000, ca}), (error: unknown) => {
        assert.ok(error instanceof NetworkError, String(error))
        assert.match(error.message, /could not reach the API at https:\/\/127\.0\.0\.1:\d+\/v1\/instances/)
        assert.match(error.hint ?? '', /local platform started from another data dir/)
        return true
      })
    }
  })
})
