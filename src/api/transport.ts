import dns from 'node:dns'
import http from 'node:http'
import https from 'node:https'
import type {LookupFunction} from 'node:net'
import tls from 'node:tls'

import {NetworkError} from './errors.js'
import {PROXY_HINT, type ProxyRoute, isLoopbackHost, proxyRoute} from './proxy.js'

export interface HttpRequest {
  method: string
  url: URL
  headers: Record<string, string>
  body?: string
  timeoutMs: number
  /** Extra CA certificates (PEM) trusted besides the system roots, e.g. the local platform's CA. */
  ca?: string
  signal?: AbortSignal
}

export interface HttpResponse {
  status: number
  headers: http.IncomingHttpHeaders
  text: string
}

/** RFC 6761: names under `localhost` are loopback; the local platform's public FQDNs rely on it. */
export const loopbackAwareLookup: LookupFunction = (hostname, options, callback) => {
  if (hostname === 'localhost' || hostname.endsWith('.localhost')) {
    const family = typeof options === 'object' && options.family === 6 ? 6 : 4
    const address = family === 6 ? '::1' : '127.0.0.1'
    if (typeof options === 'object' && options.all) {
      ;(callback as unknown as (e: null, a: Array<{address: string; family: number}>) => void)(null, [{address, family}])
    } else {
      callback(null, address, family)
    }
    return
  }
  dns.lookup(hostname, options, callback)
}

const rootsWith = new Map<string, string[]>()
/** System roots plus an extra CA: node's `ca` option replaces the roots, so both are passed. */
export function trustedRoots(ca?: string): string[] | undefined {
  if (!ca) return undefined
  let roots = rootsWith.get(ca)
  if (!roots) {
    roots = [...tls.rootCertificates, ca]
    rootsWith.set(ca, roots)
  }
  return roots
}

/**
 * One HTTP exchange over node:http(s), through the environment's proxy when it names one (proxy.ts);
 * every failure to get an answer is a NetworkError naming the URL (and the proxy).
 */
export async function send(request: HttpRequest): Promise<HttpResponse> {
  const {url} = request
  const isHttps = url.protocol === 'https:'
  const lib = isHttps ? https : http
  const headers = {...request.headers}
  if (request.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(request.body))
  const route = await proxyRoute(url)
  return new Promise((resolve, reject) => {
    const req = lib.request(
      url,
      {
        method: request.method,
        headers,
        lookup: loopbackAwareLookup,
        ...(isHttps ? {ca: trustedRoots(request.ca)} : {}),
        ...(route ? {agent: route.agent} : {}),
        signal: request.signal,
      },
      (res) => {
        if (route?.refusal) {
          res.resume()
          reject(new NetworkError(`could not reach the API at ${url.origin}${url.pathname}: ${route.refusal}`, PROXY_HINT))
          return
        }
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8')}))
        res.on('error', (error) => reject(networkError(url, error, route)))
      },
    )
    req.setTimeout(request.timeoutMs, () => {
      req.destroy(Object.assign(new Error(`timed out after ${request.timeoutMs} ms`), {code: 'ETIMEDOUT'}))
    })
    req.on('error', (error) => reject(networkError(url, error, route)))
    req.end(request.body)
  })
}

/** Certificate errors of a server whose CA is not trusted (the local platform's, for one). */
const UNTRUSTED = new Set(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'])

function hintFor(url: URL, code: string | undefined): string {
  if (code && UNTRUSTED.has(code) && isLoopbackHost(url.hostname)) {
    return 'is this a local platform started from another data dir? use --metro local with UKC_LOCAL_DIR=<its data dir> (`ukc local status` shows it)'
  }
  if (code && UNTRUSTED.has(code)) return 'the server\'s certificate is not trusted by this machine; check --metro'
  return 'check your network and --metro; for the local platform run `ukc local status`'
}

function networkError(url: URL, error: Error & {code?: string}, route?: ProxyRoute): NetworkError {
  if (error instanceof NetworkError) return error
  const reason = error.code ? `${error.code}${error.message && !error.message.includes(error.code) ? ` (${error.message})` : ''}` : error.message
  const via = route ? ` through the proxy ${route.proxy.protocol}//${route.proxy.host}` : ''
  return Object.assign(
    new NetworkError(`could not reach the API at ${url.origin}${url.pathname}${via}: ${reason}`, route ? PROXY_HINT : hintFor(url, error.code), error),
    {retryable: true, errno: error.code},
  )
}
