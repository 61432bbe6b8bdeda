// One keep-alive http.Agent per backend address, so requests reuse connections to instances.
import http from 'node:http'
import type {BackendAddress} from '../types.js'

export class BackendAgents {
  private readonly agents = new Map<string, http.Agent>()

  for(backend: BackendAddress): http.Agent {
    const key = `${backend.host}:${backend.port}`
    let agent = this.agents.get(key)
    if (agent === undefined) {
      // lifo reuses the most recently used socket: the one least likely to have hit the backend's
      // idle timeout. Idle sockets go after 30 s (or earlier when the backend announces Keep-Alive).
      // No Nagle: a request's body chunks must not wait for the ACK of its headers.
      agent = new http.Agent({keepAlive: true, scheduling: 'lifo', timeout: 30_000, noDelay: true})
      this.forgetUnused()
      this.agents.set(key, agent)
    }
    return agent
  }

  /** Instances come and go (new backend addresses); drop the pools of those with no connections left. */
  private forgetUnused(): void {
    for (const [key, agent] of this.agents) {
      if (Object.keys(agent.sockets).length === 0 && Object.keys(agent.freeSockets).length === 0 && Object.keys(agent.requests).length === 0) {
        this.agents.delete(key)
      }
    }
  }

  destroy(): void {
    for (const agent of this.agents.values()) agent.destroy()
    this.agents.clear()
  }
}
