// One proxied HTTP request: the client's request sent to the instance through an undici Pool, the
// instance's response streamed back through node's ServerResponse with backpressure both ways. The
// request holds its lease until the client side closes (answered, or the client gone).
import type http from 'node:http'
import type {Dispatcher} from 'undici'
import type {Logger} from '../types.js'
import type {InstanceLease} from './balancer.js'
import type {BackendPools} from './backend-pools.js'
import {type ForwardedRequest, forwardedResponse, safeToRetry} from './forwarding.js'
import {answerHttp} from './refusal.js'

/** What undici reports when the instance closed or reset a connection under a request. */
const CONNECTION_LOST = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE'])

export class Exchange implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined
  private retried = false

  constructor(
    private readonly req: http.IncomingMessage,
    private readonly res: http.ServerResponse,
    private readonly lease: InstanceLease,
    private readonly request: ForwardedRequest,
    private readonly pools: BackendPools,
    private readonly log: Logger,
  ) {}

  start(): void {
    // A request cut short by the client also cuts the instance connection (it cannot be reused mid-exchange).
    this.res.once('close', () => {
      this.lease.release()
      if (!this.res.writableFinished) this.controller?.abort(new Error('the client went away'))
    })
    this.send()
  }

  private send(): void {
    const {req, request} = this
    this.pools.for(this.lease).dispatch(
      {path: req.url ?? '/', method: req.method ?? 'GET', headers: request.headers, body: request.hasBody ? req : null},
      this,
    )
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller
    if (this.res.destroyed) controller.abort(new Error('the client went away'))
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, _headers: unknown, statusMessage?: string): void {
    this.lease.activity()
    // Informational answers (103 Early Hints, ...) end at the gateway.
    if (statusCode < 200) return
    const raw = Array.isArray(controller.rawHeaders) ? (controller.rawHeaders as Array<Buffer | string>) : []
    this.res.writeHead(statusCode, statusMessage, forwardedResponse(raw))
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.lease.activity()
    if (this.res.write(chunk)) return
    controller.pause()
    this.res.once('drain', () => controller.resume())
  }

  onResponseEnd(): void {
    this.res.end()
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, error: Error & {code?: string}): void {
    const {res} = this
    if (res.destroyed) return
    // A kept-alive instance connection can be closed by the instance just as it is reused; a safe
    // request without a body is sent again, once, on another connection.
    if (!this.retried && !res.headersSent && CONNECTION_LOST.has(error.code ?? '') && safeToRetry(this.req.method, this.request.hasBody)) {
      this.retried = true
      return this.send()
    }
    if (!res.headersSent) this.log(`gateway: instance ${this.lease.uuid}: ${error.message}`)
    answerHttp(res, 502, 'Bad gateway.')
  }
}
