// The API v1 HTTP(S) server: authentication, body parsing, the envelope on the wire. Operations
// live in routes.ts and below.
import http from 'node:http'
import https from 'node:https'
import type {AddressInfo} from 'node:net'

import type {UserRecord} from '../types.js'
import type {ApiContext} from './context.js'
import {RequestFailure} from './failures.js'
import {Router} from './routes.js'

/** The largest request body the API reads (1 MiB); past it the answer is 413 in the envelope shape. */
export const MAX_BODY = 1024 * 1024

export interface ApiServerOptions {
  host: string
  port: number
  /** Serve HTTPS with this certificate (the platform's); plain HTTP without (tests only). */
  tls?: {cert: string; key: string}
}

function send(res: http.ServerResponse, status: number, body: unknown, close = false): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...(close ? {Connection: 'close'} : {})})
  res.end(text)
}

/**
 * The body as text. Past MAX_BODY it rejects with 413 and stops keeping what arrives; the rest is
 * read and dropped, so that the client (still sending) does not get a reset before it can read the
 * answer — the connection closes after it.
 */
function readBody(req: http.IncomingMessage): Promise<string> {
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > MAX_BODY) {
    req.resume()
    return Promise.reject(tooLarge())
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const collect = (chunk: Buffer): void => {
      size += chunk.length
      if (size <= MAX_BODY) {
        chunks.push(chunk)
        return
      }
      req.off('data', collect)
      req.resume()
      reject(tooLarge())
    }
    req.on('data', collect)
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

function tooLarge(): RequestFailure {
  return new RequestFailure(413, `Request body too large: the limit is ${MAX_BODY / 1024 / 1024} MiB`)
}

export class ApiServer {
  readonly router: Router
  private server?: http.Server
  private port = 0

  constructor(
    private readonly ctx: ApiContext,
    private readonly options: ApiServerOptions,
  ) {
    this.router = new Router(ctx)
  }

  /** Listens; resolves with the bound port. */
  async start(): Promise<number> {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
      this.serve(req, res).catch((error: Error) => {
        this.ctx.log(`API: ${req.method} ${req.url} failed: ${error.stack ?? error.message}`)
        if (!res.headersSent) send(res, 500, {status: 'error', message: 'Internal error'})
        else res.destroy()
      })
    }
    const server = this.options.tls ? https.createServer({cert: this.options.tls.cert, key: this.options.tls.key}, handler) : http.createServer(handler)
    // Waits (wait_timeout_ms, drain) may hold a request for long; the client bounds it.
    server.requestTimeout = 0
    this.server = server
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.options.port, this.options.host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    this.port = (server.address() as AddressInfo).port
    return this.port
  }

  get url(): string {
    const host = this.options.host.includes(':') ? `[${this.options.host}]` : this.options.host
    return `${this.options.tls ? 'https' : 'http'}://${host}:${this.port}/v1`
  }

  async close(): Promise<void> {
    await this.router.close()
    const server = this.server
    if (!server) return
    this.server = undefined
    await new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
  }

  private authenticate(req: http.IncomingMessage): UserRecord | undefined {
    const header = req.headers.authorization ?? ''
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
    return match ? this.ctx.store.userByToken(match[1]) : undefined
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://api')
    const user = this.authenticate(req)
    // Like the real API, nothing (not even the root, the SDK's liveness probe) answers without a valid token.
    if (!user) {
      req.resume()
      send(res, 401, {status: 'error', message: req.headers.authorization ? 'Invalid token' : 'Missing authorization token'})
      return
    }
    try {
      const text = await readBody(req)
      let body: unknown
      if (text.trim() !== '') {
        try {
          body = JSON.parse(text)
        } catch {
          throw new RequestFailure(400, 'Malformed request: the body is not valid JSON')
        }
      }
      const path = url.pathname.replace(/\/+$/, '')
      if (path !== '/v1' && !path.startsWith('/v1/')) throw new RequestFailure(404, `No API endpoint ${req.method} ${url.pathname}`)
      const result = await this.router.handle({method: req.method ?? 'GET', path: path.slice(3), query: url.searchParams, body, user})
      send(res, 200, result)
    } catch (error) {
      if (!(error instanceof RequestFailure)) throw error
      send(res, error.httpStatus, {status: 'error', message: error.message}, error.httpStatus === 413)
    }
  }
}
