// Loopback fixtures for tunnel tests: target servers, a relay (in-process or as a child process, as
// the platform runs it) and a tunnel client, all closed by `closeAll`.
import {type ChildProcess, spawn} from 'node:child_process'
import crypto from 'node:crypto'
import net from 'node:net'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import WebSocket from 'ws'

import {
  type ActiveForward,
  type ForwardSpec,
  type RelayConnection,
  type RelayEndpoint,
  RelayServer,
  SUBPROTOCOL,
  TunnelListeners,
  WebSocketLink,
  hashToken,
  parseRelayConfig,
  relayArgs,
} from '../../src/tunnel/index.js'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')

export interface TunnelClientOptions {
  endpoint?: RelayEndpoint
  forwards: Array<ForwardSpec & {target: string}>
  heartbeatMs: number
  idleTimeoutMs?: number
  maxBackoffMs?: number
  log: (line: string) => void
}

/**
 * The client half of `ukc tunnel` without the API: the run loop's listeners carrying connections
 * over a WebSocket link to a relay at a known endpoint (the run loop adds creating and deleting it).
 */
export class TunnelClient {
  readonly listeners: TunnelListeners
  readonly link: WebSocketLink

  constructor(options: TunnelClientOptions) {
    this.listeners = new TunnelListeners({forwards: options.forwards, idleTimeoutMs: options.idleTimeoutMs, log: options.log})
    this.link = new WebSocketLink({
      targets: options.forwards.map((f) => f.target),
      endpoint: options.endpoint,
      heartbeatMs: options.heartbeatMs,
      backoff: {firstMs: 200, maxMs: options.maxBackoffMs ?? 5_000},
      log: options.log,
    })
    this.listeners.use(this.link)
  }

  /** The WebSocket connection to the relay. */
  get relay(): RelayConnection {
    return this.link.connection
  }

  listen(): Promise<ActiveForward[]> {
    return this.listeners.listen()
  }

  connect(deadlineMs = 30_000, endpoint?: RelayEndpoint): Promise<void> {
    return this.link.connect({deadlineMs}, endpoint)
  }

  forwards(): ActiveForward[] {
    return this.listeners.forwards
  }

  get openConnections(): number {
    return this.listeners.openConnections
  }

  /** As the run loop ends: drain for up to `drainMs`, then close the link and reset what is left. */
  async close(drainMs = 5_000): Promise<void> {
    await this.listeners.drain(drainMs)
    this.link.close()
    await this.listeners.close()
  }
}

export class Fixtures {
  private readonly closers: Array<() => Promise<void> | void> = []

  add(close: () => Promise<void> | void): void {
    this.closers.push(close)
  }

  async closeAll(): Promise<void> {
    for (const close of this.closers.reverse()) await close()
    this.closers.length = 0
  }

  /** A TCP server on 127.0.0.1 that runs `handler` per connection (allowHalfOpen). */
  async server(handler: (socket: net.Socket) => void): Promise<{port: number; server: net.Server; sockets: Set<net.Socket>}> {
    const sockets = new Set<net.Socket>()
    const server = net.createServer({allowHalfOpen: true}, (socket) => {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
      socket.on('error', () => {})
      handler(socket)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    this.add(
      () =>
        new Promise<void>((resolve) => {
          for (const s of sockets) s.destroy()
          server.close(() => resolve())
        }),
    )
    return {port: (server.address() as net.AddressInfo).port, server, sockets}
  }

  /** Echoes everything and ends its side when the peer ends. */
  echo(): Promise<{port: number; server: net.Server; sockets: Set<net.Socket>}> {
    return this.server((socket) => socket.pipe(socket))
  }

  async relay(allow: string[], options: {heartbeatTimeoutMs?: number; extraArgs?: string[]} = {}): Promise<{port: number; token: string; relay: RelayServer; logs: string[]}> {
    const token = crypto.randomBytes(32).toString('base64url')
    const args = relayArgs({tokenHash: hashToken(token), allow, heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? 60_000})
    const config = parseRelayConfig([...args, ...(options.extraArgs ?? [])], {PORT: '0', UKC_LISTEN_HOST: '127.0.0.1'})
    const logs: string[] = []
    const relay = new RelayServer(config, (line) => logs.push(line))
    const {port} = await relay.listen()
    this.add(() => relay.close())
    return {port, token, relay, logs}
  }

  /** The relay as the platform runs it: a child process of src/tunnel/relay/main.ts. */
  async relayProcess(
    allow: string[],
    options: {heartbeatTimeoutMs?: number; port?: number; token?: string; extraArgs?: string[]} = {},
  ): Promise<{port: number; token: string; child: ChildProcess; output: () => string; exited: Promise<number | null>}> {
    const token = options.token ?? crypto.randomBytes(32).toString('base64url')
    const args = [...relayArgs({tokenHash: hashToken(token), allow, heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? 60_000}), ...(options.extraArgs ?? [])]
    const env: NodeJS.ProcessEnv = {...process.env, PORT: String(options.port ?? 0), UKC_LISTEN_HOST: '127.0.0.1'}
    delete env.NODE_TEST_CONTEXT // the relay is a program, not a test file
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/tunnel/relay/main.ts'), ...args], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()))
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    this.add(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    })
    const port = await waitFor(() => {
      const m = /relay listening on [\d.]+:(\d+)/.exec(out)
      return m ? Number(m[1]) : undefined
    }, 20_000, () => `relay did not start: ${out}`)
    return {port, token, child, output: () => out, exited}
  }

  async client(
    relay: {port: number; token: string},
    forwards: Array<Partial<ForwardSpec> & {target: string}>,
    options: {heartbeatMs?: number; idleTimeoutMs?: number; maxBackoffMs?: number} = {},
  ): Promise<{client: TunnelClient; ports: number[]; logs: string[]}> {
    const logs: string[] = []
    const client = new TunnelClient({
      endpoint: {url: `ws://127.0.0.1:${relay.port}/`, token: relay.token},
      forwards: forwards.map((f) => ({bind: '127.0.0.1', localPort: 0, label: f.target, ...f})),
      heartbeatMs: options.heartbeatMs ?? 10_000,
      idleTimeoutMs: options.idleTimeoutMs,
      maxBackoffMs: options.maxBackoffMs ?? 200,
      log: (line) => logs.push(line),
    })
    const active = await client.listen()
    this.add(() => client.close(0))
    await client.connect(10_000)
    return {client, ports: active.map((a) => a.port), logs}
  }
}

/** Polls `probe` until it returns a value, or fails after `timeoutMs`. */
export async function waitFor<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000, what: () => string = () => 'condition'): Promise<T> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined && value !== false) return value
    if (Date.now() > until) throw new Error(`timed out waiting for ${what()}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** `promise`, or a failure naming `what` if it has not settled after `timeoutMs` (bounds a hang, not a speed). */
export async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const hang = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs)
  })
  try {
    return await Promise.race([promise, hang])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Counts the pongs the relay sends back on the client's live WebSocket: each proves it was alive.
 * Waits for the session to be live first: right after a reconnection it is still resuming (no
 * session yet), and counting on nothing would count 0 until a test times out.
 */
export async function countPongs(client: TunnelClient): Promise<() => number> {
  const session = await waitFor(() => client.relay.session, 30_000, () => 'a live tunnel session to count pongs on')
  let pongs = 0
  session.ws.on('pong', () => pongs++)
  return () => pongs
}

export function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({port, host: '127.0.0.1', allowHalfOpen: true}, () => resolve(socket))
    socket.once('error', reject)
  })
}

/** Everything the socket receives until it ends or closes; `error` is set if it was reset. */
export function collect(socket: net.Socket): Promise<{data: Buffer; error?: NodeJS.ErrnoException}> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let error: NodeJS.ErrnoException | undefined
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.on('error', (e) => (error = e))
    socket.on('close', () => resolve({data: Buffer.concat(chunks), error}))
  })
}

export function sha256(data: Buffer): string {
  return crypto.createHash('sha256').update(data).digest('hex')
}

/** Streams `total` random bytes into `socket` honouring backpressure, returning their sha256. */
export async function sendRandom(socket: net.Socket, total: number, chunk = 64 * 1024): Promise<string> {
  const hash = crypto.createHash('sha256')
  let sent = 0
  while (sent < total) {
    if (socket.destroyed) throw new Error(`socket closed after ${sent} bytes`)
    const piece = crypto.randomBytes(Math.min(chunk, total - sent))
    hash.update(piece)
    sent += piece.length
    if (!socket.write(piece)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          socket.off('drain', done).off('close', done)
          resolve()
        }
        socket.on('drain', done).on('close', done)
      })
    }
  }
  return hash.digest('hex')
}

/** sha256 and byte count of everything received until end/close. */
export function hashIncoming(socket: net.Socket): Promise<{hash: string; bytes: number; error?: Error}> {
  return new Promise((resolve) => {
    const hash = crypto.createHash('sha256')
    let bytes = 0
    let error: Error | undefined
    socket.on('data', (c: Buffer) => {
      hash.update(c)
      bytes += c.length
    })
    socket.on('error', (e) => (error = e))
    socket.on('close', () => resolve({hash: hash.digest('hex'), bytes, error}))
  })
}

/** Where and how an upgrade is attempted: a relay (ws://) or the gateway in front of one (wss://, by SNI). */
export interface UpgradeAttempt {
  url: string
  authorization?: string
  /** The loopback address to connect from. */
  from?: string
  headers?: Record<string, string>
  /** For wss://: the CA to trust and the name to ask for (also sent as Host). */
  tls?: {ca: string; servername: string}
}

/** The HTTP status an upgrade attempt gets: 101 when the WebSocket opened (it is closed at once). */
export function upgradeStatus(attempt: UpgradeAttempt): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers = {...attempt.headers, ...(attempt.authorization ? {Authorization: attempt.authorization} : {}), ...(attempt.tls ? {Host: attempt.tls.servername} : {})}
    const ws = new WebSocket(attempt.url, SUBPROTOCOL, {headers, ...(attempt.from ? {localAddress: attempt.from} : {}), ...(attempt.tls ?? {})})
    ws.on('unexpected-response', (req, res) => {
      req.destroy()
      resolve(res.statusCode ?? 0)
    })
    ws.on('open', () => {
      ws.terminate()
      resolve(101)
    })
    ws.on('error', reject)
  })
}
