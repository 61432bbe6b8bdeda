// The client's side of the relay handshake when something other than our relay answers:
// an untrusted certificate (failure mode 26) and a redirect or error page from a proxy (27).
import assert from 'node:assert/strict'
import fs from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import type net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {after, before, describe, it} from 'node:test'

import {CertificateAuthority} from '../../src/platform/tls/index.js'
import {RelayConnection, RelayHandshakeError} from '../../src/tunnel/index.js'

const FQDN = 'relay-abc.local.localhost'

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)))
}

function connection(url: string, ca?: string): RelayConnection {
  return new RelayConnection({endpoint: {url, connectHost: '127.0.0.1', token: 'not-a-real-token', ...(ca ? {ca} : {})}, heartbeatMs: 10_000, log: () => {}})
}

describe('relay handshake against the wrong peer', () => {
  let dir: string
  let ca: CertificateAuthority
  let tlsServer: https.Server
  let tlsPort: number
  let redirectServer: http.Server
  let redirectPort: number
  let upgrades = 0

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-handshake-'))
    ca = await CertificateAuthority.loadOrCreate(dir, {domain: 'local.localhost'})
    const {cert, key} = await ca.issue([FQDN])
    // Stands in for a relay behind TLS: refuses every upgrade as a relay refuses a wrong token.
    tlsServer = https.createServer({cert, key})
    tlsServer.on('upgrade', (_req, socket: net.Socket) => {
      upgrades++
      socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
    })
    tlsPort = await listen(tlsServer)
    // A proxy that redirects the upgrade elsewhere.
    redirectServer = http.createServer()
    redirectServer.on('upgrade', (_req, socket: net.Socket) => {
      socket.end('HTTP/1.1 307 Temporary Redirect\r\nLocation: https://login.example.test/sso\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
    })
    redirectPort = await listen(redirectServer)
  })

  after(async () => {
    tlsServer.closeAllConnections()
    redirectServer.closeAllConnections()
    await new Promise((resolve) => tlsServer.close(resolve))
    await new Promise((resolve) => redirectServer.close(resolve))
    fs.rmSync(dir, {recursive: true, force: true})
  })

  it('refuses a relay whose certificate no trusted CA signed, before sending the upgrade', async () => {
    const relay = connection(`wss://${FQDN}:${tlsPort}/`)
    await assert.rejects(relay.connect(), (error: Error) => {
      assert.ok(!(error instanceof RelayHandshakeError), 'must fail in TLS, not at the HTTP upgrade')
      assert.match(error.message, /certificate|self[- ]signed|verify/i)
      return true
    })
    relay.close()
    assert.equal(upgrades, 0, 'no upgrade request (and so no token) reached the untrusted server')
  })

  it('reaches the same relay once its CA is trusted (the answer is then the relay\u2019s 401)', async () => {
    const relay = connection(`wss://${FQDN}:${tlsPort}/`, ca.certPem)
    await assert.rejects(relay.connect(), (error: Error) => {
      assert.ok(error instanceof RelayHandshakeError)
      assert.equal(error.status, 401)
      assert.match(error.message, /rejected the tunnel token/)
      return true
    })
    relay.close()
    assert.equal(upgrades, 1)
  })

  it('names the status and the Location of a redirected handshake', async () => {
    const relay = connection(`ws://${FQDN}:${redirectPort}/`)
    await assert.rejects(relay.connect(), (error: Error) => {
      assert.ok(error instanceof RelayHandshakeError)
      assert.equal(error.status, 307)
      assert.match(error.message, /HTTP 307/)
      assert.match(error.message, /location: https:\/\/login\.example\.test\/sso/)
      return true
    })
    relay.close()
  })
})
