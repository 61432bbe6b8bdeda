// The kernel's rules for the private network (nftables, as root): a socket of an instance uid opens
// new loopback connections only to the addresses admitted for its uid; host uids go anywhere; the
// table is replaced when a stale one exists and is gone after `remove`. Processes under the block's
// uids try real connections to real listeners.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {after, before, describe, it} from 'node:test'

import {claimUidBlock, LoopbackFirewall, releaseUidBlock, type UidBlock} from '../../src/platform/isolation/index.js'
import {FIRST_BLOCK_UID} from '../../src/platform/isolation/uid-blocks.js'
import {connectAs, kernelIsolationSkip} from './isolation-fixture.js'


function listen(host: string): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => socket.destroy())
    server.once('error', reject)
    server.listen({host, port: 0}, () => resolve(server))
  })
}

const portOf = (server: net.Server): number => (server.address() as net.AddressInfo).port

function tables(): string {
  return spawnSync('nft', ['list', 'tables'], {encoding: 'utf8'}).stdout
}

describe('the loopback firewall (nftables)', {skip: kernelIsolationSkip()}, () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-firewall-'))
  // An address no platform hands out (platforms use 127.16–127.47), different for every run.
  const admittedIp = `127.200.${crypto.randomInt(1, 255)}.${crypto.randomInt(1, 255)}`
  let block: UidBlock
  let firewall: LoopbackFirewall
  let admitted: net.Server
  let hostService: net.Server
  let v6Service: net.Server

  before(async () => {
    block = await claimUidBlock(dataDir) // the machine's registry: the table's name and uids are ours alone
    firewall = await LoopbackFirewall.install(block)
    ;[admitted, hostService, v6Service] = await Promise.all([listen(admittedIp), listen('127.0.0.1'), listen('::1')])
  })
  after(async () => {
    await firewall?.remove()
    for (const server of [admitted, hostService, v6Service]) server?.close()
    await releaseUidBlock(dataDir)
    fs.rmSync(dataDir, {recursive: true, force: true})
  })

  it('lets an instance uid reach only what was admitted for it, and never the host\u2019s loopback services', async () => {
    const alice = block.first + 1
    const bob = block.first + 2
    assert.equal(await connectAs(alice, admittedIp, portOf(admitted)), 'ECONNREFUSED', 'nothing admitted yet')
    await firewall.admit('instance-a', {uid: alice, addresses: [admittedIp]})
    assert.equal(await connectAs(alice, admittedIp, portOf(admitted)), 'connected')
    assert.equal(await connectAs(bob, admittedIp, portOf(admitted)), 'ECONNREFUSED', 'another user of the same platform')
    assert.equal(await connectAs(alice, '127.0.0.1', portOf(hostService)), 'ECONNREFUSED', 'a host service on 127.0.0.1')
    assert.equal(await connectAs(alice, '::1', portOf(v6Service)), 'ECONNREFUSED', 'anything on ::1')
    await firewall.revoke('instance-a')
    assert.equal(await connectAs(alice, admittedIp, portOf(admitted)), 'ECONNREFUSED', 'revoked with the endpoints')
  })

  it('leaves uids outside the block alone (the platform, the CLI, other platforms\u2019 host processes)', async () => {
    // Below every block: block.first - 1 may be the last uid of another platform's block, confined by
    // that platform's own table (tests run in parallel; CI found this).
    const outsider = FIRST_BLOCK_UID - 1
    assert.equal(await connectAs(outsider, '127.0.0.1', portOf(hostService)), 'connected')
    assert.equal(await connectAs(outsider, admittedIp, portOf(admitted)), 'connected')
    assert.equal(await connectAs(outsider, '::1', portOf(v6Service)), 'connected')
  })

  it('forwards new connections from a private address to a backend while asked, still only for the admitted uid', async () => {
    const alice = block.first + 1
    const bob = block.first + 2
    const privateIp = `127.201.${crypto.randomInt(1, 255)}.${crypto.randomInt(1, 255)}`
    // Clients that only connect reset their end: not an error of these servers.
    const answer = (text: string) => (socket: net.Socket) => socket.on('error', () => {}).end(text)
    const endpoint = await new Promise<net.Server>((resolve) => {
      const server = net.createServer(answer('endpoint')).listen(0, privateIp, () => resolve(server))
    })
    const backend = await new Promise<net.Server>((resolve) => {
      const server = net.createServer(answer('backend')).listen(0, admittedIp, () => resolve(server))
    })
    const read = (host: string, port: number) =>
      new Promise<string>((resolve, reject) => {
        let text = ''
        net.connect({host, port}).setEncoding('utf8').on('data', (chunk: string) => (text += chunk)).on('end', () => resolve(text)).on('error', reject)
      })
    try {
      const port = portOf(endpoint)
      assert.equal(await read(privateIp, port), 'endpoint', 'not forwarded: the platform’s listener answers')
      await firewall.forward('instance-f', [{from: {host: privateIp, port}, to: {host: admittedIp, port: portOf(backend)}}])
      assert.equal(await read(privateIp, port), 'backend', 'forwarded by the kernel')
      assert.equal(await firewall.forwardedTotal('instance-f'), 1, 'one connection forwarded')
      await firewall.admit('instance-f', {uid: alice, addresses: [admittedIp]})
      assert.equal(await connectAs(alice, privateIp, port), 'connected', 'the admitted uid, through the forward')
      assert.equal(await connectAs(bob, privateIp, port), 'ECONNREFUSED', 'another uid: refused after the translation')
      await firewall.unforward('instance-f')
      assert.equal(await read(privateIp, port), 'endpoint', 'the listener answers again')
      await firewall.revoke('instance-f')
    } finally {
      endpoint.close()
      backend.close()
    }
  })

  it('replaces a stale table of the same block at install (a daemon killed with its table in place)', async () => {
    const alice = block.first + 1
    await firewall.admit('instance-a', {uid: alice, addresses: [admittedIp]})
    firewall = await LoopbackFirewall.install(block) // the next daemon of this data dir
    assert.equal(tables().split('\n').filter((line) => line.includes(firewall.table)).length, 1)
    assert.equal(await connectAs(alice, admittedIp, portOf(admitted)), 'ECONNREFUSED', 'the old admissions are gone with the old table')
  })

  it('removes its table at stop: the uids are no longer confined', async () => {
    await firewall.remove()
    assert.doesNotMatch(tables(), new RegExp(`\\b${firewall.table}\\b`))
    assert.equal(await connectAs(block.first + 1, '127.0.0.1', portOf(hostService)), 'connected')
  })
})
