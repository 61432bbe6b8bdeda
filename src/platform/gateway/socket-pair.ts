// Joins a client socket and a backend socket byte for byte: no buffering beyond the streams'
// own backpressure, Nagle off, half-close passed through, an abort on one side aborts the other.
import type net from 'node:net'
import type {InstanceLease} from './balancer.js'

export function joinSockets(client: net.Socket, backend: net.Socket, lease: InstanceLease): void {
  client.setNoDelay(true)
  backend.setNoDelay(true)
  let open = 2
  const closed = (self: net.Socket, other: net.Socket) => () => {
    // A clean close means both directions already ended through the pipes; anything else (reset,
    // error, destroy) leaves the other side with no peer, so it goes too.
    if (!(self.readableEnded && self.writableFinished)) other.destroy()
    if (--open === 0) lease.release()
  }
  client.on('close', closed(client, backend))
  backend.on('close', closed(backend, client))
  client.on('error', () => client.destroy())
  backend.on('error', () => backend.destroy())
  const activity = () => lease.activity()
  client.on('data', activity)
  backend.on('data', activity)
  client.pipe(backend)
  backend.pipe(client)
}
