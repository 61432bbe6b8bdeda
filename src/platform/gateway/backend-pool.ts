// Keep-alive connections to instances for the lean proxy path: idle sockets per backend address,
// most recently used first (the one least likely to have hit the instance's idle timeout).
import net from 'node:net'
import type {BackendAddress} from '../types.js'

/** Idle backend connections go after this long. */
const IDLE_MS = 30_000

/** Whoever uses a backend connection for one exchange; it gets everything the socket reports meanwhile. */
export interface BackendUser {
  onBackendData(chunk: Buffer): void
  /** The connection ended or failed while in use (`error` undefined: the instance closed it). */
  onBackendGone(error: NodeJS.ErrnoException | undefined): void
  onBackendDrain(): void
}

export class BackendConnection {
  user: BackendUser | undefined
  /** Used for an exchange before (a dead peer can only show up on a reused connection). */
  reused = false
  private idleKey: string | undefined

  constructor(
    private readonly pool: BackendPool,
    readonly socket: net.Socket,
    readonly key: string,
  ) {
    socket.on('data', (chunk: Buffer) => {
      if (this.user) this.user.onBackendData(chunk)
      // Bytes from an idle instance connection belong to no request: it cannot be reused.
      else socket.destroy()
    })
    socket.on('drain', () => this.user?.onBackendDrain())
    socket.on('end', () => this.gone(undefined))
    socket.on('error', (error: NodeJS.ErrnoException) => this.gone(error))
    socket.on('close', () => this.gone(undefined))
    socket.on('timeout', () => {
      if (this.user === undefined) socket.destroy()
    })
  }

  /** Back to the pool after a complete exchange. */
  release(): void {
    this.user = undefined
    this.reused = true
    if (this.socket.destroyed) return
    this.socket.setTimeout(IDLE_MS)
    // Paused by the last response's backpressure: an idle connection must still notice a close.
    if (this.socket.isPaused()) this.socket.resume()
    this.idleKey = this.pool.put(this)
  }

  take(user: BackendUser): void {
    this.idleKey = undefined
    this.socket.setTimeout(0)
    this.user = user
  }

  destroy(): void {
    this.user = undefined
    this.socket.destroy()
  }

  private gone(error: NodeJS.ErrnoException | undefined): void {
    const user = this.user
    this.user = undefined
    if (this.idleKey !== undefined) this.pool.remove(this.idleKey, this)
    this.idleKey = undefined
    if (!this.socket.destroyed) this.socket.destroy()
    user?.onBackendGone(error)
  }
}

export class BackendPool {
  private readonly idle = new Map<string, BackendConnection[]>()
  private readonly open = new Set<BackendConnection>()

  /** An idle connection to `backend` when there is one, else a new one (writes queue until it connects). */
  connect(backend: BackendAddress, user: BackendUser, fresh: boolean): BackendConnection {
    const key = `${backend.host}:${backend.port}`
    if (!fresh) {
      const list = this.idle.get(key)
      const connection = list?.pop()
      if (connection !== undefined) {
        if (list!.length === 0) this.idle.delete(key)
        connection.take(user)
        return connection
      }
    }
    // No Nagle: a request's head and body go out as written.
    const socket = net.connect({host: backend.host, port: backend.port, noDelay: true})
    const connection = new BackendConnection(this, socket, key)
    this.open.add(connection)
    socket.once('close', () => this.open.delete(connection))
    connection.take(user)
    return connection
  }

  put(connection: BackendConnection): string {
    const key = connection.key
    let list = this.idle.get(key)
    if (list === undefined) this.idle.set(key, (list = []))
    list.push(connection)
    return key
  }

  remove(key: string, connection: BackendConnection): void {
    const list = this.idle.get(key)
    if (list === undefined) return
    const index = list.indexOf(connection)
    if (index >= 0) list.splice(index, 1)
    if (list.length === 0) this.idle.delete(key)
  }

  destroy(): void {
    for (const connection of this.open) connection.destroy()
    this.open.clear()
    this.idle.clear()
  }
}
