// The FQDN a connection asks for, as RouteTable keys it: lower case, no port, no trailing dot.
import type {GatewayRoute, Logger, RouteTable, ServicePort} from '../types.js'

/** From an SNI server name or an HTTP `Host` header (`Name.Example:8443`, `[::1]:443`). */
export function fqdnOf(host: string | undefined): string {
  if (!host) return ''
  let name = host
  if (name.startsWith('[')) {
    const end = name.indexOf(']')
    name = end > 0 ? name.slice(1, end) : name
  } else {
    const colon = name.indexOf(':')
    // More than one colon is a bare IPv6 address, not host:port.
    if (colon >= 0 && name.indexOf(':', colon + 1) < 0) name = name.slice(0, colon)
  }
  if (name.endsWith('.')) name = name.slice(0, -1)
  return name.toLowerCase()
}

/** `<host>` or `<host>:<port>` for URLs (brackets around IPv6). */
export function hostWithPort(host: string, port: number, defaultPort: number): string {
  const shown = host.includes(':') ? `[${host}]` : host
  return port === defaultPort ? shown : `${shown}:${port}`
}

/** The route and service port for `host` on `publicPort`; undefined when nothing is published there. */
export function routeFor(
  routes: RouteTable,
  host: string,
  publicPort: number,
  log: Logger,
): {route: GatewayRoute; port: ServicePort} | undefined {
  let route: GatewayRoute | undefined
  try {
    route = host ? routes.route(host) : undefined
  } catch (error) {
    log(`gateway: route lookup for ${host} failed: ${(error as Error).message}`)
  }
  const port = route?.services.find((s) => s.port === publicPort)
  return route === undefined || port === undefined ? undefined : {route, port}
}
