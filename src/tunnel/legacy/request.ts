// The legacy relay instance as kraft creates it: one `tls` service per exposed port plus the control
// port, 64 MB, autostart, a 3 s wait, delete-on-stop; and the exposed ports from -p / -P.
import net from 'node:net'

import {type CreateInstanceRequest, MAX_PORT, UsageError, isPort} from '../../api/index.js'
import {DEFAULT_CONTROL_PORT, DEFAULT_PROXY_PORT, type LegacyForward, legacyArgs} from './protocol.js'

export interface LegacyPorts {
  controlPort: number
  /** One exposed port per mapping, in mapping order. */
  exposedPorts: number[]
}

/**
 * kraft's rules: no -p → 4444, 4445, ...; one -p → the first of consecutive ports; several -p → exactly
 * one per mapping. The control port defaults to 4443 and must not be an exposed port.
 */
export function legacyPorts(count: number, proxyPorts: number[] = [], controlPort = DEFAULT_CONTROL_PORT): LegacyPorts {
  let exposedPorts: number[]
  if (proxyPorts.length > 1) {
    if (proxyPorts.length !== count) throw new UsageError(`${proxyPorts.length} --tunnel-proxy-port values for ${count} mapping(s)`, 'give one --tunnel-proxy-port (the first of consecutive ports) or exactly one per mapping')
    exposedPorts = proxyPorts
  } else {
    const start = proxyPorts[0] ?? DEFAULT_PROXY_PORT
    exposedPorts = Array.from({length: count}, (_, i) => start + i)
  }
  if (!exposedPorts.every((p) => isPort(p))) throw new UsageError(`--tunnel-proxy-port ${proxyPorts[0]}: ${count} consecutive ports do not fit below ${MAX_PORT + 1}`)
  if (new Set(exposedPorts).size !== exposedPorts.length) throw new UsageError('--tunnel-proxy-port: each mapping needs its own port')
  if (exposedPorts.includes(controlPort)) throw new UsageError(`port ${controlPort} is both the control port and a proxy port`, 'pick another --tunnel-control-port or --tunnel-proxy-port')
  return {controlPort, exposedPorts}
}

/** The relay's targets, host and port apart ("10.0.0.2:5432" → host, 5432); no IPv6 (the args split on ":"). */
export function legacyForwards(targets: string[], ports: LegacyPorts): LegacyForward[] {
  return targets.map((target, i) => {
    const colon = target.lastIndexOf(':')
    const host = target.slice(0, colon)
    if (host.startsWith('[') || net.isIPv6(host)) throw new UsageError(`${target}: the official relay cannot reach IPv6 targets`, 'use the WebSocket relay image (deploy/relay/, see docs/tunnel.md) or an IPv4 address / *.internal name')
    return {host, destPort: Number(target.slice(colon + 1)), exposedPort: ports.exposedPorts[i] ?? 0}
  })
}

export function legacyCreateRequest(options: {image: string; cookie: string; controlPort: number; forwards: LegacyForward[]}): CreateInstanceRequest {
  const ports = [...options.forwards.map((f) => f.exposedPort), options.controlPort]
  return {
    image: options.image,
    memory_mb: 64,
    args: legacyArgs(options),
    service_group: {services: ports.map((port) => ({port, destination_port: port, handlers: ['tls']}))},
    autostart: true,
    wait_timeout_ms: 3000,
    features: ['delete-on-stop'],
  }
}
