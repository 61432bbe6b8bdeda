// The emulated official relay (src/tunnel/legacy/relay-server.ts) on plain TCP, as the gateway talks
// to it after terminating TLS: cookie, int16 status, bytes with half-close, budget, heartbeat loss.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {after, before, describe, it} from 'node:test'

import {HEARTBEAT, type LegacyRelayArgs, newCookie} from '../../src/tunnel/legacy/protocol.js'
import {LegacyRelayServer} from '../../src/tunnel/legacy/relay-server.js'
import {collect, connect, waitFor} from './harness.js'

const COOKIE = newCookie()

/** Sends the cookie (and `more`), reads the status; resolves with the socket and what followed the status. */
async function handshake(port: number, cookie = COOKIE): Promise<{socket: net.Socket; status?: number; result: ReturnType<typeof collect>}> {
  const socket = await connect(port)
  const result = collect(socket)
  socket.write(cookie)
  const status = await new Promise<number | undefined>((resolve) => {
    let got = Buffer.alloc(0)
    const onData = (chunk: Buffer): void => {
      got = Buffer.concat([got, chunk])
      if (got.length >= 2) {
        socket.off('data', onData)
        resolve(got.readInt16LE(0))
      }
    }
    socket.on('data', onData)
    socket.once('end', () => resolve(undefined)).once('close', () => resolve(undefined))
  })
  return {socket, status, result}
}

describe('emulated official relay', () => {
  let dir: string
  let echo: net.Server
  let echoPort = 0
  const relays: LegacyRelayServer[] = []

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-legacy-relay-'))
    echo = net.createServer({allowHalfOpen: true}, (s) => {
      s.on('error', () => undefined)
      s.pipe(s)
    })
    echoPort = await new Promise((resolve) => echo.listen(0, '127.0.0.1', () => resolve((echo.address() as net.AddressInfo).port)))
    fs.writeFileSync(path.join(dir, 'hosts'), `127.0.0.1 echo.internal\n`)
  })

  after(async () => {
    for (const relay of relays) await relay.close()
    echo.close()
    fs.rmSync(dir, {recursive: true, force: true})
  })

  async function relay(forwards: Array<{host: string; destPort: number; budget?: number}>, controlTimeoutMs = 60_000): Promise<{server: LegacyRelayServer; ports: number[]}> {
    const config: LegacyRelayArgs = {
      controlPort: 0,
      controlAuthTimeoutS: 5,
      authTimeoutS: 5,
      cookie: COOKIE,
      evsTimeoutS: 600,
      forwards: forwards.map((f) => ({host: f.host, destPort: f.destPort, exposedPort: 0, budget: f.budget ?? 27})),
    }
    const server = new LegacyRelayServer(config, {host: '127.0.0.1', hostsFile: path.join(dir, 'hosts'), controlTimeoutMs, log: () => {}})
    relays.push(server)
    return {server, ports: await server.listen()}
  }

  it('answers 1 to the right cookie, then carries bytes to a *.internal target with half-close', async () => {
    const {ports} = await relay([{host: 'echo.internal', destPort: echoPort}])
    const {socket, status, result} = await handshake(ports[0] ?? 0)
    assert.equal(status, 1)
    socket.end('hello through the legacy relay')
    const {data, error} = await result
    assert.equal(error, undefined)
    assert.equal(data.subarray(2).toString(), 'hello through the legacy relay')
  })

  it('closes a connection with the wrong cookie without answering', async () => {
    const {ports} = await relay([{host: '127.0.0.1', destPort: echoPort}])
    const {socket, status} = await handshake(ports[0] ?? 0, newCookie())
    assert.equal(status, undefined)
    socket.destroy()
  })

  it('answers 0 beyond the forward\'s connection budget and -1 when the target refuses', async () => {
    const refused = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const {port} = probe.address() as net.AddressInfo
        probe.close(() => resolve(port))
      })
    })
    const {ports} = await relay([{host: '127.0.0.1', destPort: echoPort, budget: 1}, {host: '127.0.0.1', destPort: refused}])
    const first = await handshake(ports[0] ?? 0)
    assert.equal(first.status, 1)
    const second = await handshake(ports[0] ?? 0)
    assert.equal(second.status, 0)
    const third = await handshake(ports[1] ?? 0)
    assert.equal(third.status, -1)
    second.socket.destroy()
    third.socket.destroy()
    first.socket.end()
    await first.result
  })

  it('reports heartbeat-lost only once the control connection stops sending heartbeats', async () => {
    const {server, ports} = await relay([{host: '127.0.0.1', destPort: echoPort}], 300)
    let lost = false
    server.on('heartbeat-lost', () => (lost = true))
    const control = await connect(ports[1] ?? 0)
    control.write(Buffer.concat([Buffer.from(COOKIE), HEARTBEAT]))
    let beats = 0
    const timer = setInterval(() => {
      control.write(HEARTBEAT)
      beats++
    }, 30)
    await waitFor(() => beats >= 20, 5_000, () => '20 heartbeats')
    clearInterval(timer)
    assert.equal(lost, false)
    await waitFor(() => lost, 5_000, () => 'heartbeat-lost')
    control.destroy()
  })
})
