// The ports an instance process and its private endpoint use. Instance processes are never
// privileged (see identity.ts), so an instance port below 1024 is served by the process on
// port + 10000; the private endpoint still binds the real port when the platform itself may (root),
// else it binds port + 10000 too.
import {platformIsPrivileged} from './identity.js'

export const LOW_PORT_SHIFT = 10_000

/** Port the instance process listens on for instance port `port`. */
export function backendPort(port: number): number {
  return port < 1024 ? port + LOW_PORT_SHIFT : port
}

/** Port the platform's private endpoint binds for instance port `port`. */
export function endpointPort(port: number): number {
  return port < 1024 && !platformIsPrivileged() ? port + LOW_PORT_SHIFT : port
}
