// How certificates look on screen: kraft's certificate columns and STATE colours.
import type {Certificate, CertificateState} from '../api/index.js'
import {palette} from './colour.js'
import {type Column, formatAgo, renderList, renderTable} from './render.js'

const STATE_COLOURS: Record<CertificateState, 'green' | 'yellow' | 'red'> = {valid: 'green', pending: 'yellow', error: 'red'}

function colourState(text: string, row: Certificate): string {
  const colour = row.state ? STATE_COLOURS[row.state] : undefined
  return colour ? palette()[colour](text) : text
}

const NAME: Column<Certificate> = {header: 'NAME', value: (c) => c.name ?? ''}
const UUID: Column<Certificate> = {header: 'UUID', value: (c) => c.uuid ?? ''}
const listOnly = (header: string, value: (c: Certificate) => string | undefined): Column<Certificate> => ({header, value: (c) => value(c) ?? '', table: false})

/** Table: NAME, STATE, COMMON NAME, CREATED AT; every other format adds the rest, in kraft's order. */
export const CERTIFICATE_COLUMNS: Column<Certificate>[] = [
  {...UUID, table: false},
  NAME,
  {header: 'STATE', value: (c) => c.state ?? '', color: colourState},
  listOnly('VALIDATION ATTEMPTS', (c) => (c.validation?.attempt === undefined ? '' : String(c.validation.attempt))),
  listOnly('NEXT ATTEMPT', (c) => c.validation?.next),
  {header: 'COMMON NAME', value: (c) => c.common_name ?? ''},
  listOnly('SUBJECT', (c) => c.subject),
  listOnly('ISSUER', (c) => c.issuer),
  listOnly('SERIAL NUMBER', (c) => c.serial_number),
  listOnly('NOT BEFORE', (c) => c.not_before),
  listOnly('NOT AFTER', (c) => c.not_after),
  {header: 'CREATED AT', value: (c) => formatAgo(c.created_at)},
  listOnly('SERVICES', (c) => (c.service_groups ?? []).map((s) => s.name || s.uuid).join(', ')),
]

/** What create and remove answer per certificate: which one it was. */
export const CERTIFICATE_REF_COLUMNS: Column<Certificate>[] = [NAME, UUID]

export function renderCertificates(certificates: Certificate[], format: 'table' | 'list', options: {color?: boolean; columns?: Column<Certificate>[]} = {}): string {
  if (certificates.length === 0) return ''
  const columns = options.columns ?? CERTIFICATE_COLUMNS
  return format === 'table' ? renderTable(columns, certificates, options) : renderList(columns, certificates, options)
}

/** The names of the `cert` topic (kraft's aliases), for commandAliases. */
export const CERTIFICATE_TOPICS = ['cert', 'certificate', 'certificates', 'certs', 'crt', 'crts'] as const
