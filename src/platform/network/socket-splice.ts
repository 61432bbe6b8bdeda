// Joins two TCP sockets: bytes both ways with backpressure (stream.pipe), half-close propagated
// (both sockets are allowHalfOpen, so an `end` from one side becomes a FIN on the other while the
// reverse direction keeps flowing), and resets propagated (an error on one side resets the other).
import type net from 'node:net'

export interface SpliceHooks {
  /** Bytes moved (either direction). */
  activity?: () => void
  /** Both sockets are closed; called once. */
  closed?: () => void
}

export function splice(a: net.Socket, b: net.Socket, hooks: SpliceHooks = {}): void {
  let open = 2
  const closed = (): void => {
    open -= 1
    if (open === 0) hooks.closed?.()
  }
  const join = (from: net.Socket, to: net.Socket): void => {
    from.pipe(to)
    if (hooks.activity) from.on('data', hooks.activity)
    // An error (e.g. ECONNRESET) on one side becomes a reset on the other, not a clean FIN.
    from.on('error', () => {
      if (!to.destroyed) to.resetAndDestroy()
    })
    from.on('close', (hadError) => {
      closed()
      if (to.destroyed) return
      if (hadError) to.resetAndDestroy()
      // Destroyed without error while the other side still had work (e.g. platform stop): close it too.
      else if (!(to.writableEnded && to.readableEnded)) to.destroy()
    })
  }
  join(a, b)
  join(b, a)
}
