// One undici Pool of keep-alive connections per instance address: the gateway's HTTP client towards
// instances (cheaper per request than node's http.request + Agent, measured in bench/platform.ts).
// Each connection a pool makes is handed to the tracker's meter for the instance that owns the
// address, so the bytes of HTTP traffic count in the instance's metrics.
import type net from 'node:net'
import {Pool, buildConnector} from 'undici'
import type {BackendAddress, ConnectionTracker} from '../types.js'

export class BackendPools {
  private readonly pools = new Map<string, Pool>()
  /** Origin → the instance it belongs to now (addresses are reused after an instance is deleted). */
  private readonly owners = new Map<string, string>()
  private readonly connector = buildConnector({})

  constructor(private readonly tracker?: Pick<ConnectionTracker, 'meter'>) {}

  for(target: {backend: BackendAddress; uuid: string}): Pool {
    const {backend} = target
    const origin = `http://${backend.host.includes(':') ? `[${backend.host}]` : backend.host}:${backend.port}`
    this.owners.set(origin, target.uuid)
    let pool = this.pools.get(origin)
    if (pool === undefined) {
      this.forgetUnused()
      // No request timeouts of undici's own: a response may take as long as the instance needs (the
      // client's side has the gateway's deadlines). Idle connections follow undici's keep-alive rules
      // (the instance's Keep-Alive hint, else 4 s, below node's 5 s server default).
      pool = new Pool(origin, {headersTimeout: 0, bodyTimeout: 0, connect: this.metered(origin)})
      this.pools.set(origin, pool)
    }
    return pool
  }

  private metered(origin: string): buildConnector.connector {
    return (options, callback) =>
      this.connector(options, (error, socket) => {
        const owner = this.owners.get(origin)
        if (socket && owner !== undefined) this.tracker?.meter?.(owner, socket as net.Socket)
        if (error) callback(error, null)
        else callback(null, socket as net.Socket)
      })
  }

  /** Instances come and go (new addresses): close the pools with nothing connected or queued. */
  private forgetUnused(): void {
    for (const [origin, pool] of this.pools) {
      const stats = pool.stats
      if (stats.connected === 0 && stats.pending === 0 && stats.running === 0) {
        this.pools.delete(origin)
        this.owners.delete(origin)
        void pool.close()
      }
    }
  }

  destroy(): void {
    for (const pool of this.pools.values()) void pool.destroy()
    this.pools.clear()
    this.owners.clear()
  }
}
