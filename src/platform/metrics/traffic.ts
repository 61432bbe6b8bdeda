// Bytes in and out of each instance, counted on the platform's own sockets to the instance process
// (private endpoints, the gateway's connections and HTTP pools): what the platform wrote to such a
// socket the instance received (rx), what it read the instance sent (tx). Nothing runs per chunk:
// node keeps bytesRead/bytesWritten per socket; a socket's totals are added up when it closes, and
// the live ones are summed when asked. Since the platform started; packets are not seen (loopback
// TCP streams, not a NIC), so none are reported.

import type net from 'node:net'

export interface Traffic {
  rxBytes: number
  txBytes: number
}

interface InstanceTraffic {
  closedRx: number
  closedTx: number
  live: Set<net.Socket>
}

export class TrafficMeter {
  private readonly instances = new Map<string, InstanceTraffic>()

  /** Counts `socket`'s bytes for the instance (a socket the platform opened to the instance's process). */
  watch(instanceUuid: string, socket: net.Socket): void {
    let traffic = this.instances.get(instanceUuid)
    if (!traffic) this.instances.set(instanceUuid, (traffic = {closedRx: 0, closedTx: 0, live: new Set()}))
    if (traffic.live.has(socket)) return
    const entry = traffic
    entry.live.add(socket)
    socket.once('close', () => {
      if (!entry.live.delete(socket)) return
      entry.closedRx += socket.bytesWritten
      entry.closedTx += socket.bytesRead
    })
  }

  read(instanceUuid: string): Traffic {
    const traffic = this.instances.get(instanceUuid)
    if (!traffic) return {rxBytes: 0, txBytes: 0}
    let rxBytes = traffic.closedRx
    let txBytes = traffic.closedTx
    for (const socket of traffic.live) {
      rxBytes += socket.bytesWritten
      txBytes += socket.bytesRead
    }
    return {rxBytes, txBytes}
  }

  /** The instance is deleted: its counts go (its sockets are closed by then). */
  forget(instanceUuid: string): void {
    this.instances.delete(instanceUuid)
  }
}
