// How services look on screen: kraft's service columns (table and list).
import type {ServiceGroup} from '../api/index.js'
import {formatPortMapping} from './parsers.js'
import {type Column, formatAgo, renderList, renderTable} from './render.js'

const str = (value: number | boolean | undefined): string => (value === undefined ? '' : String(value))

const NAME: Column<ServiceGroup> = {header: 'NAME', value: (s) => s.name ?? ''}
const FQDN: Column<ServiceGroup> = {header: 'FQDN', value: (s) => (s.domains ?? []).map((d) => d.fqdn).join(', ')}
/** `443:8080/http+tls 80:443/http+redirect` (space-joined, as kraft prints and e2e tests grep). */
const SERVICES: Column<ServiceGroup> = {header: 'SERVICES', value: (s) => (s.services ?? []).map(formatPortMapping).join(' ')}
const INSTANCES: Column<ServiceGroup> = {header: 'INSTANCES', value: (s) => (s.instances ?? []).map((i) => i.name || i.uuid).join(', ')}
const CREATED_AT: Column<ServiceGroup> = {header: 'CREATED AT', value: (s) => formatAgo(s.created_at)}
const PERSISTENT: Column<ServiceGroup> = {header: 'PERSISTENT', value: (s) => str(s.persistent)}

export const SERVICE_TABLE_COLUMNS: Column<ServiceGroup>[] = [NAME, FQDN, SERVICES, INSTANCES, CREATED_AT, PERSISTENT]

export const SERVICE_LIST_COLUMNS: Column<ServiceGroup>[] = [
  {header: 'UUID', value: (s) => s.uuid ?? ''},
  ...SERVICE_TABLE_COLUMNS,
  {header: 'SOFT LIMIT', value: (s) => str(s.soft_limit)},
  {header: 'HARD LIMIT', value: (s) => str(s.hard_limit)},
]

export function renderServices(services: ServiceGroup[], format: 'table' | 'list'): string {
  if (services.length === 0) return ''
  return format === 'table' ? renderTable(SERVICE_TABLE_COLUMNS, services) : renderList(SERVICE_LIST_COLUMNS, services)
}

/** The names of the `service` topic (kraft's aliases), for commandAliases. */
export const SERVICE_TOPICS = ['service', 'services', 'svc'] as const
