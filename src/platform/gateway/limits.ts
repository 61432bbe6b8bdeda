// The gateway's deadlines and connection cap per listener: the numbers docs/platform-gateway.md states,
// and how they become node's server options.
import type http from 'node:http'
import type tls from 'node:tls'

export interface GatewayLimits {
  /** A request head must be complete this long after its first byte (or after the handshake): else 408, close. */
  headersTimeoutMs: number
  /** A whole request (head and body) must arrive within this: else 408, close. */
  requestTimeoutMs: number
  /** An idle keep-alive client connection closes after this without a new request. */
  keepAliveTimeoutMs: number
  /** A TLS handshake must finish within this, on every TLS listener: else the connection closes. */
  handshakeTimeoutMs: number
  /** Client connections open at once per listener; past it, new ones are closed as soon as accepted. */
  maxConnections: number
}

export const DEFAULT_LIMITS: Readonly<GatewayLimits> = {
  headersTimeoutMs: 30_000,
  // node's own default: a long upload still gets five minutes.
  requestTimeoutMs: 300_000,
  keepAliveTimeoutMs: 30_000,
  handshakeTimeoutMs: 10_000,
  maxConnections: 4096,
}

/** Node checks the head and request deadlines on a timer; this often, so a deadline overshoots by a quarter at most. */
function checkingInterval(limits: GatewayLimits): number {
  return Math.max(1, Math.min(30_000, Math.ceil(limits.headersTimeoutMs / 4)))
}

export function httpServerOptions(limits: GatewayLimits): http.ServerOptions {
  return {
    headersTimeout: limits.headersTimeoutMs,
    // node refuses a head deadline longer than the request's.
    requestTimeout: Math.max(limits.requestTimeoutMs, limits.headersTimeoutMs),
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: checkingInterval(limits),
  }
}

export function tlsServerOptions(limits: GatewayLimits): tls.TlsOptions {
  return {handshakeTimeout: limits.handshakeTimeoutMs}
}
