// The one proxy mechanism of ukc, for API calls and the tunnel's WebSocket alike: the proxy comes
// from HTTPS_PROXY / HTTP_PROXY (ALL_PROXY as a fallback; lower case wins over upper case) unless
// NO_PROXY names the host, and a connection goes through it as an HTTP CONNECT tunnel, with TLS to
// the server inside (the proxy sees the host and port, never a token or a header). Loopback and
// `*.localhost` (the local platform) never go through a proxy.
//
// Libraries, not hand-written: proxy-from-env reads the variables as curl does (the reader axios and
// proxy-agent use); https-proxy-agent is the CONNECT agent ws documents, and an http.Agent serves
// both node:https requests (our transport) and ws upgrades. undici's EnvHttpProxyAgent would not
// fit: it only serves undici's own requests, and neither the transport nor ws run on undici.
import type http from 'node:http'

import {getProxyForUrl} from 'proxy-from-env'

import {UsageError} from './errors.js'

/** Loopback addresses and names (RFC 6761 `localhost`): never proxied. */
export function isLoopbackHost(host: string): boolean {
  const name = host.toLowerCase().replace(/^\[|\]$/g, '')
  return name === 'localhost' || name.endsWith('.localhost') || name === '::1' || /^127\.\d+\.\d+\.\d+$/.test(name)
}

/** The proxy for a connection to `target` (http(s):// or ws(s)://), or undefined to go direct. */
export function proxyFor(target: URL): URL | undefined {
  if (isLoopbackHost(target.hostname)) return undefined
  // ws:// is http:// and wss:// is https:// to a proxy: the same variables apply.
  const asHttp = new URL(target.href.replace(/^ws(s?):/i, 'http$1:'))
  const value = getProxyForUrl(asHttp.href)
  if (!value) return undefined
  let proxy: URL
  try {
    proxy = new URL(value)
  } catch {
    throw new UsageError(`the proxy "${value}" (from HTTPS_PROXY/HTTP_PROXY) is not a URL`, 'write it as http://HOST:PORT, or set NO_PROXY for this host')
  }
  if (proxy.protocol !== 'http:' && proxy.protocol !== 'https:') {
    throw new UsageError(`unsupported proxy ${proxy.protocol}//${proxy.host}: only HTTP CONNECT proxies (http:// or https://) are supported`, 'set HTTPS_PROXY=http://HOST:PORT, or NO_PROXY for this host')
  }
  return proxy
}

export interface ProxyRoute {
  proxy: URL
  agent: http.Agent
  /** Set once the proxy refused the CONNECT: which proxy, what for, and its status. */
  refusal?: string
}

/** A CONNECT agent for one connection to `target` through the proxy the environment names, if any. */
export async function proxyRoute(target: URL): Promise<ProxyRoute | undefined> {
  const proxy = proxyFor(target)
  if (!proxy) return undefined
  // Loaded only when a proxy is in use: most runs never need it.
  const {HttpsProxyAgent} = await import('https-proxy-agent')
  const agent = new HttpsProxyAgent(proxy, {keepAlive: false})
  const route: ProxyRoute = {proxy, agent}
  agent.on('proxyConnect', (connect: {statusCode: number; statusText?: string}) => {
    if (connect.statusCode === 200) return
    const authority = `${target.hostname}:${target.port || (/^(https|wss):$/i.test(target.protocol) ? 443 : 80)}`
    route.refusal = `the proxy ${proxy.host} refused CONNECT ${authority}: HTTP ${connect.statusCode} ${connect.statusText ?? ''}`.trim()
  })
  return route
}

/** The hint for a failure on a proxied connection. */
export const PROXY_HINT = 'check HTTPS_PROXY/HTTP_PROXY (a proxy without a scheme is taken as the target\'s: write http://HOST:PORT) or exempt the host with NO_PROXY'
