// The private network: endpoints forward with half-close, refuse other users' networks, and
// `.internal` names resolve per user.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import {after, before, describe, it} from 'node:test'

import {mayConnect, resolveInternal} from '../../src/platform/network/index.js'
import type {InstanceRecord, UserRecord} from '../../src/platform/types.js'
import {httpGet, RuntimeFixture} from './runtime-fixture.js'

/** Connects (optionally from `localAddress`), writes `payload`, half-closes, collects until the peer ends. */
function exchange(host: string, port: number, payload: string, localAddress?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({host, port, localAddress, allowHalfOpen: true})
    const chunks: Buffer[] = []
    socket.on('connect', () => socket.end(payload))
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('end', () => {
      resolve(Buffer.concat(chunks).toString())
      socket.destroy()
    })
    socket.on('error', reject)
  })
}

describe('private network', () => {
  let fixture: RuntimeFixture
  let alice: UserRecord
  let bob: UserRecord
  let echo: InstanceRecord
  let web: InstanceRecord
  let bobsWeb: InstanceRecord

  before(async () => {
    fixture = await RuntimeFixture.create()
    alice = fixture.user('alice', 12)
    bob = fixture.user('bob', 13)
    echo = fixture.instance(alice, 'echo')
    web = fixture.instance(alice, 'hello')
    bobsWeb = fixture.instance(bob, 'hello', {name: 'bobs-web'})
    await fixture.runtime.start(echo.uuid)
    await fixture.runtime.start(web.uuid)
  })
  after(() => fixture.close())

  it('forwards through the private endpoint with half-close: all data comes back after our FIN', async () => {
    const payload = 'x'.repeat(256 * 1024) + 'end'
    assert.equal(await exchange(echo.private_ip, 9000, payload), payload)
    await fixture.until('the connection to be released', () => fixture.runtime.connections(echo.uuid) === 0)
  })

  it('refuses connections from another user network, allows the host and the same user', async () => {
    const bobsAddress = `127.${16 + bob.index}.0.200`
    await assert.rejects(exchange(echo.private_ip, 9000, 'hi', bobsAddress), /ECONNRESET|EPIPE/, "bob's network is refused")
    await assert.rejects(exchange(echo.private_ip, 9000, 'hi', `127.${32 + bob.index}.0.200`), /ECONNRESET|EPIPE/)
    assert.equal(await exchange(echo.private_ip, 9000, 'host', '127.0.0.1'), 'host')
    assert.equal(await exchange(echo.private_ip, 9000, 'alice', web.private_ip), 'alice', "alice's own instance may connect")
    assert.equal(fixture.runtime.connections(echo.uuid) >= 0, true)
  })

  it('propagates a reset from the instance to the client', async () => {
    // hello closes a non-HTTP connection with garbage; the client must see the end of the stream, not hang.
    const socket = net.connect({host: web.private_ip, port: 8080})
    socket.on('connect', () => socket.write('NOT HTTP\r\n\r\n'))
    const outcome = await new Promise<string>((resolve) => {
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'))
      socket.on('close', () => resolve('closed'))
      socket.resume()
    })
    assert.ok(['closed', 'ECONNRESET'].includes(outcome))
  })

  it('resolves <name>.internal per user from the hosts file', async () => {
    const aliceHosts = fixture.runtime.hostsFile(alice.uuid)
    assert.equal(resolveInternal(aliceHosts, `${echo.name}.internal`), echo.private_ip)
    assert.equal(resolveInternal(aliceHosts, `${web.name.toUpperCase()}.internal.`), web.private_ip)
    assert.equal(resolveInternal(aliceHosts, 'bobs-web.internal'), undefined, "bob's names are not in alice's network")
    assert.equal(resolveInternal(fixture.runtime.hostsFile(bob.uuid), 'bobs-web.internal'), bobsWeb.private_ip)
    const answer = await httpGet(resolveInternal(aliceHosts, web.name) as string, 8080)
    assert.equal(answer.body, `Hello from ${web.name}\n`)
  })

  it('serves an instance port below 1024: process on port + 10000, endpoint on the real port when root', async () => {
    const server = "require('http').createServer((q, r) => r.end('port ' + process.env.PORT)).listen(Number(process.env.PORT), process.env.UKC_LISTEN_HOST)"
    fs.writeFileSync(path.join(fixture.dataDir, 'images.json'), JSON.stringify({'low:latest': {command: [process.execPath, '-e', server], port: 80}}))
    const record = fixture.instance(alice, 'low')
    await fixture.runtime.start(record.uuid)
    const endpoint = process.getuid?.() === 0 ? 80 : 10_080
    assert.equal((await httpGet(record.private_ip, endpoint)).body, 'port 10080')
    await fixture.runtime.remove(record.uuid)
  })

  it("lets an instance reach another by its .internal name from its private IP, not another user's", async () => {
    // `caller` reads its user's hosts file, connects from UKC_PRIVATE_IP and relays the answer.
    const caller = `
      const fs = require('fs'), http = require('http')
      http.createServer((q, r) => {
        const name = q.url.slice(1)
        const line = fs.readFileSync(process.env.UKC_HOSTS_FILE, 'utf8').split('\\n').find((l) => l.split(' ')[1] === name)
        if (!line) return r.end('unknown ' + name)
        http.get({host: line.split(' ')[0], port: 8080, localAddress: process.env.UKC_PRIVATE_IP, agent: false}, (a) => a.pipe(r))
          .on('error', (e) => r.end('error ' + e.code))
      }).listen(Number(process.env.PORT), process.env.UKC_LISTEN_HOST)`
    fs.writeFileSync(path.join(fixture.dataDir, 'images.json'), JSON.stringify({'caller:latest': {command: [process.execPath, '-e', caller], port: 8080}}))
    const alices = fixture.instance(alice, 'caller')
    const bobs = fixture.instance(bob, 'caller')
    await fixture.runtime.start(alices.uuid)
    await fixture.runtime.start(bobs.uuid)
    assert.equal((await httpGet(alices.private_ip, 8080, `/${web.name}.internal`)).body, `Hello from ${web.name}\n`)
    assert.equal((await httpGet(bobs.private_ip, 8080, `/${web.name}.internal`)).body, `unknown ${web.name}.internal`)
    // Even with alice's IP in hand, bob's instance is refused by the private endpoint.
    fs.appendFileSync(fixture.runtime.hostsFile(bob.uuid), `${web.private_ip} stolen.internal\n`)
    assert.equal((await httpGet(bobs.private_ip, 8080, '/stolen.internal')).body, 'error ECONNRESET')
    await fixture.runtime.remove(alices.uuid)
    await fixture.runtime.remove(bobs.uuid)
  })

  it('knows which addresses belong to which network', () => {
    assert.equal(mayConnect('127.0.0.1', 3), true)
    assert.equal(mayConnect('::1', 3), true)
    assert.equal(mayConnect('::ffff:127.19.0.4', 3), true)
    assert.equal(mayConnect('::ffff:127.20.0.4', 3), false)
    assert.equal(mayConnect('127.35.1.1', 3), true)
    assert.equal(mayConnect('127.36.1.1', 3), false)
  })
})
