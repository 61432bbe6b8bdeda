// One undici Pool of keep-alive connections per instance address: the gateway's HTTP client towards
// instances (cheaper per request than node's http.request + Agent, measured in bench/platform.ts).
import {Pool} from 'undici'
import type {BackendAddress} from '../types.js'

export class BackendPools {
  private readonly pools = new Map<string, Pool>()

  for(backend: BackendAddress): Pool {
    const origin = `http://${backend.host.includes(':') ? `[${backend.host}]` : backend.host}:${backend.port}`
    let pool = this.pools.get(origin)
    if (pool === undefined) {
      this.forgetUnused()
      // No request timeouts of undici's own: a response may take as long as the instance needs (the
      // client's side has the gateway's deadlines). Idle connections follow undici's keep-alive rules
      // (the instance's Keep-Alive hint, else 4 s, below node's 5 s server default).
      pool = new Pool(origin, {headersTimeout: 0, bodyTimeout: 0})
      this.pools.set(origin, pool)
    }
    return pool
  }

  /** Instances come and go (new addresses): close the pools with nothing connected or queued. */
  private forgetUnused(): void {
    for (const [origin, pool] of this.pools) {
      const stats = pool.stats
      if (stats.connected === 0 && stats.pending === 0 && stats.running === 0) {
        this.pools.delete(origin)
        void pool.close()
      }
    }
  }

  destroy(): void {
    for (const pool of this.pools.values()) void pool.destroy()
    this.pools.clear()
  }
}
