// The emulated volimport server: listens (plain TCP — TLS is the gateway's, the service's handler is
// `tls`), serves one import at a time (connection.ts), and says when it is done: `finished` with 0
// once an import completed, 1 when one failed or when no data came for -t seconds (kraft's "timeout
// when unresponsive"). A wrong auth only closes that connection. The owner (main.ts) exits then, and
// delete-on-stop removes the instance.
import {EventEmitter} from 'node:events'
import net from 'node:net'

import type {VolimportServerConfig} from './config.js'
import {ImportConnection} from './connection.js'
import {volumeSpace} from './volume-space.js'

export class VolimportServer extends EventEmitter<{finished: [code: number, why: string]}> {
  private readonly servers: net.Server[] = []
  private readonly sockets = new Set<net.Socket>()
  private active?: ImportConnection
  private idle?: NodeJS.Timeout
  private over = false

  constructor(
    private readonly config: VolimportServerConfig,
    private readonly log: (line: string) => void,
  ) {
    super()
  }

  /** Listens on every configured port; the inactivity timer starts now. */
  async listen(): Promise<number[]> {
    const ports: number[] = []
    for (const port of this.config.ports) {
      const server = net.createServer((socket) => this.accept(socket))
      this.servers.push(server)
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(port, this.config.host, () => {
          server.off('error', reject)
          resolve()
        })
      })
      ports.push((server.address() as net.AddressInfo).port)
    }
    this.touch()
    return ports
  }

  async close(): Promise<void> {
    this.over = true
    clearTimeout(this.idle)
    for (const socket of this.sockets) socket.destroy()
    await Promise.all(this.servers.map((server) => new Promise((resolve) => server.close(resolve))))
  }

  private accept(socket: net.Socket): void {
    if (this.over) {
      socket.destroy()
      return
    }
    this.sockets.add(socket)
    socket.once('close', () => this.sockets.delete(socket))
    socket.on('error', () => undefined) // reported through the connection's read loop
    const connection: ImportConnection = new ImportConnection(socket, {
      authSha256: this.config.authSha256,
      authLength: this.config.authLength,
      root: this.config.root,
      claim: () => {
        if (this.active) return false
        this.active = connection
        return true
      },
      activity: () => this.touch(),
      space: () => volumeSpace(this.config.root, this.config.volumeBytes),
      log: this.log,
    })
    void connection.serve().then((outcome) => {
      if (this.active !== connection) return
      if (outcome === 'finished') this.finish(0, 'import complete')
      else this.finish(1, `import failed: ${connection.failure ?? 'unknown'}`)
    })
  }

  /** Data came: the inactivity timer starts over. */
  private touch(): void {
    clearTimeout(this.idle)
    this.idle = setTimeout(() => {
      if (this.active?.complete) this.finish(0, 'import complete (the client did not close the connection)')
      else this.finish(1, `no data for ${this.config.timeoutS} s: giving up`)
    }, this.config.timeoutS * 1000)
  }

  private finish(code: number, why: string): void {
    if (this.over) return
    this.over = true
    clearTimeout(this.idle)
    this.emit('finished', code, why)
  }
}
