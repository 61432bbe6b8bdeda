// What the gateway changes in what it forwards, for plain requests and upgrades alike: hop-by-hop
// headers (RFC 9110 §7.6.1, and any a Connection header lists) end at the gateway, X-Forwarded-* are
// set by it; and which requests it may send twice. The one owner of these rules.
// Headers travel as node's raw lists ([name, value, name, value, ...]): the instance and the client
// see names in the case and order they were sent, and node never builds a header object for them.
import type http from 'node:http'

// Expect ends here too: node's server answers `100 Continue` itself, then the body is forwarded.
// So does Transfer-Encoding: the client towards the instance frames the body itself (by the
// Content-Length when there is one, else chunked).
const HOP_BY_HOP_REQUEST = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'expect', 'transfer-encoding'])
// The response's framing and connection management towards the client are node's server's own.
const HOP_BY_HOP_RESPONSE = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'trailer', 'upgrade'])
/** An upgrade request keeps what asks for the upgrade, and its framing (its bytes go on as they came). */
const UPGRADE_HEADERS = new Set(['connection', 'upgrade', 'transfer-encoding'])
/** Set by the gateway (X-Forwarded-For extended), never passed as the client sent them. */
const FORWARDED = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host'])
/** Sent again, once, when a reused instance connection turns out closed: no body, no side effects. */
const SAFE_TO_RETRY = new Set(['GET', 'HEAD', 'OPTIONS'])

export interface ForwardedRequest {
  /** The headers for the instance, as a raw list. */
  headers: string[]
  /** The request has a body (Content-Length or Transfer-Encoding). */
  hasBody: boolean
}

/** The request's headers as the instance gets them; `proto` is how the client reached the gateway. */
export function forwardedRequest(req: http.IncomingMessage, proto: 'http' | 'https', upgrade = false): ForwardedRequest {
  const raw = req.rawHeaders
  const dropped = listedInConnection(raw)
  const headers: string[] = []
  let forwardedFor = ''
  let host: string | undefined
  let hasBody = false
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!
    const value = raw[i + 1]!
    const lower = name.toLowerCase()
    if (FORWARDED.has(lower)) {
      if (lower === 'x-forwarded-for') forwardedFor = forwardedFor ? `${forwardedFor}, ${value}` : value
      continue
    }
    if (lower === 'content-length' || lower === 'transfer-encoding') hasBody = true
    const kept = upgrade && UPGRADE_HEADERS.has(lower)
    if (!kept && (HOP_BY_HOP_REQUEST.has(lower) || dropped?.has(lower))) continue
    if (lower === 'host') host ??= value
    headers.push(name, value)
  }
  const client = req.socket.remoteAddress ?? ''
  headers.push('X-Forwarded-For', forwardedFor ? `${forwardedFor}, ${client}` : client, 'X-Forwarded-Proto', proto)
  if (host !== undefined) headers.push('X-Forwarded-Host', host)
  return {headers, hasBody}
}

/** The head of an upgrade request for the instance, written on the raw connection to it. */
export function upgradeHead(req: http.IncomingMessage, proto: 'http' | 'https'): string {
  const {headers} = forwardedRequest(req, proto, true)
  let head = `${req.method} ${req.url} HTTP/1.1\r\n`
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`
  return `${head}\r\n`
}

/** The instance's response headers (raw, as the instance-side client read them) as the client gets them. */
export function forwardedResponse(rawHeaders: ReadonlyArray<Buffer | string>): string[] {
  // Header bytes stay as they came: node's server writes header strings as latin1.
  const raw = rawHeaders.map((item) => (typeof item === 'string' ? item : item.toString('latin1')))
  const dropped = listedInConnection(raw)
  const headers: string[] = []
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase()
    if (!HOP_BY_HOP_RESPONSE.has(lower) && !dropped?.has(lower)) headers.push(raw[i]!, raw[i + 1]!)
  }
  return headers
}

/** A request the gateway may send again after the instance closed a reused connection under it. */
export function safeToRetry(method: string | undefined, hasBody: boolean): boolean {
  return !hasBody && SAFE_TO_RETRY.has(method ?? '')
}

/** Header names a Connection header lists (hop-by-hop by that listing); undefined when none. */
function listedInConnection(raw: readonly string[]): Set<string> | undefined {
  let listed: Set<string> | undefined
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() !== 'connection') continue
    for (const name of raw[i + 1]!.split(',')) {
      const token = name.trim().toLowerCase()
      if (token) (listed ??= new Set()).add(token)
    }
  }
  return listed
}
