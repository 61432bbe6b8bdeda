// Records → API objects (reference §2.5 "Instance object", §2.6 service object, §2.8 volume and
// certificate objects).
import type {Certificate, DomainRef, Instance, ServiceGroup, Volume} from '../../api/types.js'
import type {CertificateRecord, InstanceRecord, ServiceRecord, VolumeRecord} from '../types.js'
import {certificateState} from './certificate-rules.js'
import type {ApiContext} from './context.js'
import {volumeState} from './volume-rules.js'

const LIVE = new Set(['running', 'draining', 'stopping', 'standby'])

export function serviceRef(ctx: ApiContext, serviceUuid: string | undefined): Instance['service_group'] {
  const service = serviceUuid ? ctx.store.service(serviceUuid) : undefined
  if (!service) return undefined
  return {uuid: service.uuid, name: service.name, domains: presentDomains(ctx, service)}
}

/** A service's domains, each with the certificate it presents when it is one of the user's (`{uuid, name, state}`). */
function presentDomains(ctx: ApiContext, service: ServiceRecord): DomainRef[] {
  return service.domains.map((fqdn) => {
    const uuid = service.certificates?.[fqdn]
    const certificate = uuid === undefined ? undefined : ctx.store.certificate(uuid)
    return certificate ? {fqdn, certificate: {uuid: certificate.uuid, name: certificate.name, state: certificateState(certificate)}} : {fqdn}
  })
}

export function presentInstance(ctx: ApiContext, record: InstanceRecord, now = Date.now()): Instance & {status: 'success'} {
  const startedAt = record.started_at ? Date.parse(record.started_at) : undefined
  const service_group = serviceRef(ctx, record.service_uuid)
  return {
    status: 'success',
    uuid: record.uuid,
    name: record.name,
    created_at: record.created_at,
    state: record.state,
    image: record.image,
    memory_mb: record.memory_mb,
    vcpus: record.vcpus,
    args: record.args,
    env: record.env,
    start_count: record.start_count,
    restart_count: record.restart_count,
    ...(record.started_at ? {started_at: record.started_at} : {}),
    ...(record.stopped_at ? {stopped_at: record.stopped_at} : {}),
    uptime_ms: LIVE.has(record.state) && startedAt !== undefined ? Math.max(0, now - startedAt) : 0,
    restart_policy: record.restart_policy,
    restart: {attempt: record.restart_attempt, ...(record.next_restart_at ? {next_at: record.next_restart_at} : {})},
    ...(record.stop_reason === undefined ? {} : {stop_reason: record.stop_reason}),
    ...(record.stop_code === undefined ? {} : {stop_code: record.stop_code}),
    ...(record.exit_code === undefined ? {} : {exit_code: record.exit_code}),
    boot_time_us: record.boot_time_us ?? 0,
    scale_to_zero: {...record.scale_to_zero, enabled: record.scale_to_zero.policy !== 'off'},
    private_fqdn: `${record.name}.internal`,
    private_ip: record.private_ip,
    ...(service_group ? {service_group} : {}),
    volumes: record.volumes,
    features: record.features,
  }
}

export function presentService(ctx: ApiContext, record: ServiceRecord): ServiceGroup & {status: 'success'} {
  return {
    status: 'success',
    uuid: record.uuid,
    name: record.name,
    created_at: record.created_at,
    persistent: record.persistent,
    autoscale: record.autoscale !== undefined,
    soft_limit: record.soft_limit,
    hard_limit: record.hard_limit,
    services: record.services,
    domains: presentDomains(ctx, record),
    instances: ctx.store.attachedInstances(record.uuid).map((i) => ({uuid: i.uuid, name: i.name})),
  }
}

export function presentVolume(ctx: ApiContext, record: VolumeRecord): Volume & {status: 'success'} {
  const attachment = ctx.store.attachmentOf(record.uuid)
  const state = volumeState(record, attachment?.instance)
  const instance = attachment ? {uuid: attachment.instance.uuid, name: attachment.instance.name} : undefined
  return {
    status: 'success',
    uuid: record.uuid,
    name: record.name,
    state,
    size_mb: record.size_mb,
    attached_to: instance ? [instance] : [],
    mounted_by: instance && state === 'mounted' ? [{...instance, readonly: attachment?.mount.readonly ?? false}] : [],
    persistent: record.persistent,
    created_at: record.created_at,
  }
}

/** The certificate object (§2.8): what was read from the certificate, and the services presenting it. Never the key. */
export function presentCertificate(ctx: ApiContext, record: CertificateRecord): Certificate & {status: 'success'} {
  return {
    status: 'success',
    uuid: record.uuid,
    name: record.name,
    created_at: record.created_at,
    common_name: record.common_name,
    state: certificateState(record),
    subject: record.subject,
    issuer: record.issuer,
    serial_number: record.serial_number,
    not_before: record.not_before,
    not_after: record.not_after,
    service_groups: ctx.store.servicesUsing(record.uuid).map((s) => ({uuid: s.uuid, name: s.name})),
  }
}
