// Just enough HTTP/1.1 parsing for the gateway's lean proxy path: request heads (anything unusual is
// reported as `fallback`, and node's HTTP server takes the connection over), response heads and the
// framing of response bodies (RFC 9112 §6.3), and where a chunked body ends.

/** Node's default limit; a longer head goes to node's server, which answers 431. */
export const MAX_HEAD_BYTES = 16 * 1024
/** A response head longer than this is a broken instance: 502. */
export const MAX_RESPONSE_HEAD_BYTES = 64 * 1024

const HEAD_END = Buffer.from('\r\n\r\n', 'latin1')
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const METHOD = /^[A-Z]+$/
// Visible ASCII, no spaces and no controls: a request-target as node's parser accepts it, minus oddities.
const TARGET = /^[\x21-\x7e]+$/
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/

// Hop-by-hop request headers (RFC 9110 §7.6.1) and the ones the gateway writes itself.
const DROPPED_REQUEST = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
])
// The response's framing and connection management are the gateway's own on the client side.
const DROPPED_RESPONSE = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'trailer', 'upgrade', 'content-length'])

export interface RequestHead {
  method: string
  target: string
  host: string
  /** Body bytes that follow the head (0: none). */
  contentLength: number
  /** The client asked to close the connection after this exchange. */
  close: boolean
  /** The end-to-end header lines as received (`Name: value\r\n` each), for the instance. */
  lines: string
  /** X-Forwarded-For values from the client, joined. */
  forwardedFor: string
  /** Bytes of the head including its empty line. */
  headLength: number
}

/**
 * The request head at the start of `buf`: `more` until its empty line arrived, `fallback` for what
 * the lean path leaves to node's server (not HTTP/1.1, upgrades, Expect, chunked or otherwise unusual
 * request bodies, CONNECT, malformed or oversized heads).
 */
export function parseRequestHead(buf: Buffer): RequestHead | 'more' | 'fallback' {
  const end = buf.indexOf(HEAD_END)
  if (end < 0) return buf.length > MAX_HEAD_BYTES ? 'fallback' : 'more'
  if (end > MAX_HEAD_BYTES) return 'fallback'
  const lines = buf.toString('latin1', 0, end).split('\r\n')
  const requestLine = lines[0]!.split(' ')
  if (requestLine.length !== 3 || requestLine[2] !== 'HTTP/1.1') return 'fallback'
  const [method, target] = requestLine as [string, string]
  if (!METHOD.test(method) || method === 'CONNECT' || !TARGET.test(target)) return 'fallback'
  let host: string | undefined
  let contentLength = -1
  let connection = ''
  let forwardedFor = ''
  const names: string[] = []
  const values: string[] = []
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!
    const colon = line.indexOf(':')
    if (colon <= 0) return 'fallback'
    const name = line.slice(0, colon)
    const value = line.slice(colon + 1).trim()
    if (!TOKEN.test(name) || !FIELD_VALUE.test(value)) return 'fallback'
    const lower = name.toLowerCase()
    switch (lower) {
      case 'host':
        if (host !== undefined) return 'fallback'
        host = value
        break
      case 'content-length':
        if (contentLength >= 0 || !/^\d{1,15}$/.test(value)) return 'fallback'
        contentLength = Number(value)
        break
      case 'transfer-encoding':
      case 'upgrade':
      case 'expect':
        return 'fallback'
      case 'connection':
        connection = connection ? `${connection},${value}` : value
        break
      case 'x-forwarded-for':
        forwardedFor = forwardedFor ? `${forwardedFor}, ${value}` : value
        break
    }
    names.push(lower)
    values.push(line)
  }
  if (host === undefined) return 'fallback'
  let close = false
  let listed: Set<string> | undefined
  if (connection) {
    for (const token of connection.split(',')) {
      const option = token.trim().toLowerCase()
      if (option === 'close') close = true
      else if (option === 'upgrade') return 'fallback'
      else if (option && option !== 'keep-alive') (listed ??= new Set()).add(option)
    }
  }
  let kept = ''
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!
    if (DROPPED_REQUEST.has(name) || listed?.has(name)) continue
    kept += `${values[i]}\r\n`
  }
  return {method, target, host, contentLength: Math.max(contentLength, 0), close, lines: kept, forwardedFor, headLength: end + 4}
}

export type Framing = 'none' | 'length' | 'chunked' | 'close'

export interface ResponseHead {
  status: number
  /** The status line and end-to-end header lines for the client, without framing or connection headers. */
  head: string
  framing: Framing
  /** For `length`: body bytes. */
  length: number
  /** The instance keeps the connection open after this response. */
  keepAlive: boolean
  hasDate: boolean
  headLength: number
}

/** The response head at the start of `buf` for a request with `method`; an Error when it is not HTTP. */
export function parseResponseHead(buf: Buffer, method: string): ResponseHead | 'more' | Error {
  const end = buf.indexOf(HEAD_END)
  if (end < 0) return buf.length > MAX_RESPONSE_HEAD_BYTES ? new Error('response head too large') : 'more'
  const lines = buf.toString('latin1', 0, end).split('\r\n')
  const statusLine = lines[0]!
  const version = statusLine.slice(0, 9)
  if ((version !== 'HTTP/1.1 ' && version !== 'HTTP/1.0 ') || !/^\d{3}$/.test(statusLine.slice(9, 12))) {
    return new Error(`not an HTTP/1.x response: ${JSON.stringify(statusLine.slice(0, 40))}`)
  }
  const status = Number(statusLine.slice(9, 12))
  const reason = statusLine.slice(13)
  let length = -1
  let chunked = false
  let encoded = false
  let connection = ''
  let hasDate = false
  let head = `HTTP/1.1 ${status} ${reason}\r\n`
  const kept: string[] = []
  const keptNames: string[] = []
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!
    const colon = line.indexOf(':')
    if (colon <= 0 || line.charCodeAt(0) === 32 || line.charCodeAt(0) === 9) return new Error('malformed response header')
    const name = line.slice(0, colon).toLowerCase()
    const value = line.slice(colon + 1).trim()
    switch (name) {
      case 'content-length': {
        if (!/^\d{1,15}$/.test(value)) return new Error('malformed content-length')
        const n = Number(value)
        if (length >= 0 && n !== length) return new Error('conflicting content-length')
        length = n
        break
      }
      case 'transfer-encoding': {
        encoded = true
        const codings = value.toLowerCase().split(',')
        chunked = codings[codings.length - 1]!.trim() === 'chunked'
        break
      }
      case 'connection':
        connection = connection ? `${connection},${value.toLowerCase()}` : value.toLowerCase()
        break
      case 'date':
        hasDate = true
        break
    }
    kept.push(line)
    keptNames.push(name)
  }
  let close = version === 'HTTP/1.0 '
  let listed: Set<string> | undefined
  if (connection) {
    for (const token of connection.split(',')) {
      const option = token.trim()
      if (option === 'close') close = true
      else if (option === 'keep-alive') close = false
      else if (option) (listed ??= new Set()).add(option)
    }
  }
  for (let i = 0; i < kept.length; i++) {
    const name = keptNames[i]!
    if (DROPPED_RESPONSE.has(name) || listed?.has(name)) continue
    head += `${kept[i]}\r\n`
  }
  let framing: Framing
  if (method === 'HEAD' || status < 200 || status === 204 || status === 304) {
    framing = 'none'
    // A HEAD response announces the length a GET would have had: keep it for the client.
    if (length >= 0 && status !== 204 && status >= 200) head += `Content-Length: ${length}\r\n`
    else if (chunked && status >= 200 && status !== 204 && status !== 304) head += 'Transfer-Encoding: chunked\r\n'
  } else if (encoded) framing = chunked ? 'chunked' : 'close'
  else if (length >= 0) framing = 'length'
  else framing = 'close'
  if (framing === 'length') head += `Content-Length: ${length}\r\n`
  // A body that ends with the instance's connection reaches the client chunked, keeping its connection.
  else if (framing === 'chunked' || framing === 'close') head += 'Transfer-Encoding: chunked\r\n'
  return {status, head, framing, length: Math.max(length, 0), keepAlive: !close && framing !== 'close', hasDate, headLength: end + 4}
}

const enum Chunk {
  Size,
  Extension,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  LineStart,
  Trailer,
  EndLf,
}

/** Follows a chunked body across reads and says where it ends (the bytes themselves pass through unchanged). */
export class ChunkedScanner {
  private state = Chunk.Size
  private size = 0
  private digits = 0
  private left = 0

  /** The index just past the body's end in `buf` (from `start`), or -1 when it continues; throws on malformed framing. */
  scan(buf: Buffer, start: number): number {
    let i = start
    const length = buf.length
    while (i < length) {
      switch (this.state) {
        case Chunk.Data: {
          const n = Math.min(this.left, length - i)
          this.left -= n
          i += n
          if (this.left === 0) this.state = Chunk.DataCr
          continue
        }
        case Chunk.Size: {
          const c = buf[i]!
          const digit = hexValue(c)
          if (digit >= 0) {
            if (++this.digits > 12) throw new Error('chunk size too large')
            this.size = this.size * 16 + digit
          } else if (this.digits === 0) throw new Error('malformed chunk size')
          else if (c === 0x3b || c === 0x20 || c === 0x09) this.state = Chunk.Extension
          else if (c === 0x0d) this.state = Chunk.SizeLf
          else throw new Error('malformed chunk size')
          break
        }
        case Chunk.Extension:
          if (buf[i] === 0x0d) this.state = Chunk.SizeLf
          break
        case Chunk.SizeLf:
          if (buf[i] !== 0x0a) throw new Error('malformed chunk size line')
          if (this.size === 0) this.state = Chunk.LineStart
          else {
            this.left = this.size
            this.state = Chunk.Data
          }
          this.size = 0
          this.digits = 0
          break
        case Chunk.DataCr:
          if (buf[i] !== 0x0d) throw new Error('chunk longer than announced')
          this.state = Chunk.DataLf
          break
        case Chunk.DataLf:
          if (buf[i] !== 0x0a) throw new Error('chunk longer than announced')
          this.state = Chunk.Size
          break
        case Chunk.LineStart:
          this.state = buf[i] === 0x0d ? Chunk.EndLf : Chunk.Trailer
          break
        case Chunk.Trailer:
          if (buf[i] === 0x0a) this.state = Chunk.LineStart
          break
        case Chunk.EndLf:
          if (buf[i] !== 0x0a) throw new Error('malformed end of chunked body')
          this.state = Chunk.Size
          return i + 1
      }
      i++
    }
    return -1
  }
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  if (c >= 0x61 && c <= 0x66) return c - 0x57
  if (c >= 0x41 && c <= 0x46) return c - 0x37
  return -1
}
