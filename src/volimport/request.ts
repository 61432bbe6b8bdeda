// The import instance exactly as kraft creates it (kraftkit `volume import`, runVolimport): the
// volimport image with -p/-a/-t, 128 MiB, one `tls` service 42069 → 42069, the volume mounted at `/`,
// autostart, a 3 s wait, delete-on-stop (it vanishes when the server exits).
import type {CreateInstanceRequest} from '../api/index.js'
import {VOLIMPORT_MEMORY_MB, VOLIMPORT_PORT, VOLIMPORT_WAIT_TIMEOUT_MS, volimportArgs} from './protocol.js'

export function volimportCreateRequest(options: {image: string; volumeUuid: string; auth: string; timeoutS: number}): CreateInstanceRequest {
  return {
    image: options.image,
    memory_mb: VOLIMPORT_MEMORY_MB,
    args: volimportArgs({auth: options.auth, timeoutS: options.timeoutS}),
    service_group: {services: [{port: VOLIMPORT_PORT, destination_port: VOLIMPORT_PORT, handlers: ['tls']}]},
    volumes: [{uuid: options.volumeUuid, at: '/'}],
    autostart: true,
    wait_timeout_ms: VOLIMPORT_WAIT_TIMEOUT_MS,
    features: ['delete-on-stop'],
  }
}
