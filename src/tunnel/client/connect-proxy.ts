// The relay's WebSocket through an HTTP CONNECT proxy, as corporate networks require: the proxy
// comes from HTTPS_PROXY (wss) or HTTP_PROXY (ws), in upper or lower case, unless NO_PROXY names the
// relay's host. Loopback and `*.localhost` hosts (the local platform) never go through a proxy.
import http from 'node:http'
import https from 'node:https'
import type {Duplex} from 'node:stream'
import tls from 'node:tls'

function env(name: string, source: NodeJS.ProcessEnv): string | undefined {
  return source[name] || source[name.toLowerCase()] || undefined
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host)
}

/** Does NO_PROXY (`host`, `.suffix`, `*`, optional `:port`) exempt this host? */
export function bypassesProxy(host: string, port: string, noProxy: string | undefined): boolean {
  if (!noProxy) return false
  const name = host.toLowerCase()
  return noProxy
    .split(/[\s,]+/)
    .filter(Boolean)
    .some((entry) => {
      if (entry === '*') return true
      const [pattern, entryPort] = entry.toLowerCase().split(':') as [string, string | undefined]
      if (entryPort && entryPort !== port) return false
      const bare = pattern.replace(/^\*?\./, '')
      return name === bare || name.endsWith(`.${bare}`)
    })
}

/** The proxy to use for a relay URL, or undefined to connect directly. */
export function proxyFor(target: URL, source: NodeJS.ProcessEnv = process.env): URL | undefined {
  const host = target.hostname.replace(/^\[|\]$/g, '')
  const secure = target.protocol === 'wss:' || target.protocol === 'https:'
  const port = target.port || (secure ? '443' : '80')
  if (isLoopback(host) || bypassesProxy(host, port, env('NO_PROXY', source))) return undefined
  const value = secure ? env('HTTPS_PROXY', source) ?? env('HTTP_PROXY', source) : env('HTTP_PROXY', source)
  if (!value) return undefined
  const proxy = new URL(value.includes('://') ? value : `http://${value}`)
  if (proxy.protocol !== 'http:') throw new Error(`unsupported proxy ${proxy.protocol}//${proxy.host}: only http:// CONNECT proxies are supported`)
  return proxy
}

/**
 * An agent whose every connection is a CONNECT tunnel through `proxy` (TLS to the relay on top
 * for wss). The proxy sees only the relay's host and port; the token travels inside TLS.
 */
export function connectProxyAgent(proxy: URL, secure: boolean): http.Agent {
  const agent = secure ? new https.Agent({keepAlive: false}) : new http.Agent({keepAlive: false})
  agent.createConnection = (options, callback) => {
    const host = String(options.host ?? options.hostname ?? '')
    const port = Number(options.port ?? (secure ? 443 : 80))
    const authority = `${host.includes(':') ? `[${host}]` : host}:${port}`
    const credentials = proxy.username ? `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}` : undefined
    const request = http.request({
      host: proxy.hostname,
      port: Number(proxy.port || 80),
      method: 'CONNECT',
      path: authority,
      agent: false,
      headers: {Host: authority, ...(credentials ? {'Proxy-Authorization': `Basic ${Buffer.from(credentials).toString('base64')}`} : {})},
    })
    const fail = (error: Error): void => callback?.(error, undefined as unknown as Duplex)
    request.once('connect', (response, socket) => {
      if (response.statusCode !== 200) {
        socket.destroy()
        fail(new Error(`the proxy ${proxy.host} refused CONNECT ${authority}: HTTP ${response.statusCode} ${response.statusMessage ?? ''}`.trim()))
        return
      }
      socket.setNoDelay(true)
      if (!secure) {
        callback?.(null, socket)
        return
      }
      const tlsOptions = options as tls.ConnectionOptions
      callback?.(null, tls.connect({...tlsOptions, socket, host, servername: tlsOptions.servername || host}))
    })
    request.once('error', (error) => fail(new Error(`could not reach the proxy ${proxy.host}: ${error.message}`)))
    request.end()
    return undefined
  }
  return agent
}
