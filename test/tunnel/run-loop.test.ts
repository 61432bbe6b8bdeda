// The one run loop with a stand-in relay flavour (it echoes each carried connection in-process) and
// the API's DELETE answered by nock: what happens around the relay whatever its flavour — readiness,
// the drain, and deleting the relay on every way out.
import assert from 'node:assert/strict'
import net from 'node:net'
import {afterEach, describe, it} from 'node:test'

import {UkcClient, UsageError} from '../../src/api/index.js'
import {type OpenRelay, type RelayFlavour, type TunnelReady, parseMappings, runTunnel} from '../../src/tunnel/index.js'
import {nock} from '../setup.js'
import {collect, connect, waitFor} from './harness.js'

const TOKEN = Buffer.from('robot$alice.users.kraftcloud:s3cret').toString('base64')
const RELAY = {uuid: '0b7c1f3e-9a2d-4e5f-8a6b-7c8d9e0f1a2b', name: 'relay-x', fqdn: 'relay-x.fra.unikraft.app'}
const api = new UkcClient({baseUrl: 'http://api.test/v1', token: TOKEN, attempts: 1})

function expectDelete(): nock.Scope {
  return nock('http://api.test').delete('/v1/instances', [{uuid: RELAY.uuid}]).reply(200, {status: 'success', data: {instances: [{status: 'success', uuid: RELAY.uuid, name: RELAY.name}]}})
}

/** A flavour whose relay "exists" at once and echoes what it carries; `connect` is up to the test. */
function echoFlavour(connect: OpenRelay['connect'] = async () => undefined): RelayFlavour & {opened: number; closed: number} {
  const flavour = {
    opened: 0,
    closed: 0,
    open: async (): Promise<OpenRelay> => {
      flavour.opened++
      return {
        relay: RELAY,
        image: 'test/echo-relay',
        connect,
        carry: (socket: net.Socket) => {
          socket.pipe(socket)
          return {abort: () => socket.resetAndDestroy()}
        },
        close: () => void flavour.closed++,
      }
    },
  }
  return flavour
}

interface Run {
  done: Promise<void>
  stop: AbortController
  ready: Promise<TunnelReady>
  logs: string[]
  forcedExit: Array<() => Promise<unknown>>
}

function run(flavour: RelayFlavour, specs: string[], drainMs = 60_000): Run {
  const stop = new AbortController()
  const logs: string[] = []
  const forcedExit: Array<() => Promise<unknown>> = []
  let announce: (ready: TunnelReady) => void = () => undefined
  const ready = new Promise<TunnelReady>((resolve) => (announce = resolve))
  const done = runTunnel({
    api,
    mappings: parseMappings(specs),
    bind: '127.0.0.1',
    flavour,
    drainMs,
    connectMs: 10_000,
    signal: stop.signal,
    onForcedExit: (cleanup) => forcedExit.push(cleanup),
    progress: () => undefined,
    log: (line) => logs.push(line),
    onReady: announce,
  })
  return {done, stop, ready, logs, forcedExit}
}

describe('tunnel run loop', () => {
  afterEach(() => nock.cleanAll())

  it('reports readiness once, carries connections, drains the open ones on stop, then deletes the relay', async () => {
    const flavour = echoFlavour()
    const remove = expectDelete()
    const tunnel = run(flavour, ['0:127.16.0.9:5432'])
    const ready = await tunnel.ready
    assert.deepEqual(ready.relay, {uuid: RELAY.uuid, fqdn: RELAY.fqdn, image: 'test/echo-relay'})
    assert.equal(ready.mappings[0]?.target, '127.16.0.9:5432')
    const port = Number(ready.mappings[0]?.local.split(':').pop())
    const held = await connect(port)
    const got = collect(held)
    held.write('during ')
    tunnel.stop.abort('SIGINT')
    await waitFor(() => tunnel.logs.some((l) => l.startsWith('stopping: waiting up to 60 s for 1 open connection')), 10_000, () => tunnel.logs.join('\n'))
    // Stopped listening, but the open connection finishes (the drain would wait 60 s for it).
    await assert.rejects(connect(port), {code: 'ECONNREFUSED'})
    assert.equal(remove.isDone(), false, 'the relay stays while a connection drains')
    held.end('the drain')
    assert.equal((await got).data.toString(), 'during the drain')
    await tunnel.done
    assert.ok(remove.isDone(), 'the relay is deleted at the end')
    assert.equal(flavour.closed, 1)
  })

  it('stopped while connecting: no ready line, and the relay is still deleted', async () => {
    const flavour = echoFlavour(({signal}) => new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), {once: true})))
    const remove = expectDelete()
    let readied = false
    const tunnel = run(flavour, ['0:127.16.0.9:5432'])
    void tunnel.ready.then(() => (readied = true))
    await waitFor(() => flavour.opened === 1)
    tunnel.stop.abort('SIGTERM')
    await tunnel.done
    assert.equal(readied, false)
    assert.ok(remove.isDone())
  })

  it('a failed connection is the run\'s error, and the relay is deleted', async () => {
    const flavour = echoFlavour(async () => {
      throw new Error('could not connect to the relay')
    })
    const remove = expectDelete()
    await assert.rejects(run(flavour, ['0:127.16.0.9:5432']).done, /could not connect to the relay/)
    assert.ok(remove.isDone())
  })

  it('registers a forced-exit clean-up that deletes the relay (a second Ctrl-C)', async () => {
    const flavour = echoFlavour()
    const tunnel = run(flavour, ['0:127.16.0.9:5432'])
    await tunnel.ready
    const remove = expectDelete()
    assert.equal(tunnel.forcedExit.length, 1)
    await tunnel.forcedExit[0]?.()
    assert.ok(remove.isDone(), 'the clean-up deleted the relay')
    const again = expectDelete()
    tunnel.stop.abort('SIGINT')
    await tunnel.done
    assert.ok(again.isDone())
  })

  it('a busy local port fails first, with a usage error, and nothing is created', async () => {
    const busy = net.createServer()
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve))
    try {
      const {port} = busy.address() as net.AddressInfo
      const flavour = echoFlavour()
      await assert.rejects(run(flavour, [`${port}:127.16.0.9:5432`]).done, (error: Error) => error instanceof UsageError && /already in use/.test(error.message))
      assert.equal(flavour.opened, 0)
    } finally {
      await new Promise<void>((resolve) => busy.close(() => resolve()))
    }
  })
})
