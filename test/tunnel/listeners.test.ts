// The tunnel's local listeners on their own: the drain gives open connections their time and no more,
// whatever state those connections are in, and closing ends what is left.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {TunnelListeners} from '../../src/tunnel/index.js'
import {connect, waitFor, within} from './harness.js'

describe('tunnel listeners', () => {
  it('a drain ends after its time even when a connection never ends (a stream stalled for credit), then close ends it', async () => {
    const listeners = new TunnelListeners({forwards: [{bind: '127.0.0.1', localPort: 0, label: 'db:5432'}], log: () => undefined})
    // A link that takes every connection and never reads or ends it, as a stream with no credit left.
    listeners.use({carry: (socket) => (socket.pause(), {abort: () => socket.destroy()})})
    const [forward] = await listeners.listen()
    const app = await connect(forward?.port as number)
    app.on('error', () => undefined)
    const ended = new Promise((resolve) => app.once('end', resolve).once('close', resolve))
    app.write('waiting for credit that never comes')
    await waitFor(() => listeners.openConnections === 1)
    // The deadline only bounds a hang: the drain must return once its 50 ms are over.
    await within(listeners.drain(50), 30_000, 'the drain to end after its time')
    assert.equal(listeners.openConnections, 1, 'the drain does not close connections itself')
    await listeners.close()
    await ended
    app.destroy()
    await waitFor(() => listeners.openConnections === 0)
  })
})
