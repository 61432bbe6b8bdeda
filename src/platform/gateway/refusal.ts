// What a client sees when the gateway cannot give it a service: the real platform's words for an
// unknown URL, a 503 either way for HTTP, a closed connection for raw TLS.
import type http from 'node:http'
import type net from 'node:net'
import {GatewayRefusal} from './balancer.js'

export const NO_SERVICE = 'There is no service on this URL.'

export function refusalText(error: unknown): string {
  if (!(error instanceof GatewayRefusal) || error.reason === 'no-service') return NO_SERVICE
  if (error.reason === 'hard-limit') return 'The service is at its connection limit.'
  return 'The service is unavailable.'
}

export function answerHttp(res: http.ServerResponse, status: number, text: string, headers: http.OutgoingHttpHeaders = {}): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const body = `${text}\n`
  res.writeHead(status, {...headers, 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body)})
  res.end(body)
}

/** For a socket taken over by an HTTP upgrade: a complete response, then close. */
export function answerRaw(socket: net.Socket, status: number, reason: string, text: string, headers: Record<string, string> = {}): void {
  const body = `${text}\n`
  const lines = [`HTTP/1.1 ${status} ${reason}`, 'Content-Type: text/plain; charset=utf-8', `Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close']
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`)
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`)
}
