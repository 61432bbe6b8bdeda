// How volumes look on screen: kraft's volume columns (UUID only outside the table).
import type {Volume} from '../api/index.js'
import {formatMemory} from './instance-view.js'
import {type Column, formatAgo, renderList, renderTable} from './render.js'

const NAME: Column<Volume> = {header: 'NAME', value: (v) => v.name ?? ''}
const UUID: Column<Volume> = {header: 'UUID', value: (v) => v.uuid ?? ''}

export const VOLUME_COLUMNS: Column<Volume>[] = [
  {...UUID, table: false},
  NAME,
  {header: 'CREATED AT', value: (v) => formatAgo(v.created_at)},
  {header: 'SIZE', value: (v) => formatMemory(v.size_mb)},
  {header: 'ATTACHED TO', value: (v) => (v.attached_to ?? []).map((i) => i.name || i.uuid).join(', ')},
  {header: 'MOUNTED BY', value: (v) => (v.mounted_by ?? []).map((i) => `${i.name || i.uuid}${i.readonly ? ':ro' : ''}`).join(', ')},
  {header: 'STATE', value: (v) => v.state ?? ''},
  {header: 'PERSISTENT', value: (v) => (v.persistent === undefined ? '' : String(v.persistent))},
]

/** What create, attach, detach and remove answer per volume: which one it was. */
export const VOLUME_REF_COLUMNS: Column<Volume>[] = [NAME, UUID]

export function renderVolumes(volumes: Volume[], format: 'table' | 'list', options: {columns?: Column<Volume>[]} = {}): string {
  if (volumes.length === 0) return ''
  const columns = options.columns ?? VOLUME_COLUMNS
  return format === 'table' ? renderTable(columns, volumes) : renderList(columns, volumes)
}

/** The names of the `volume` topic (kraft's aliases), for commandAliases. */
export const VOLUME_TOPICS = ['volume', 'volumes', 'vol'] as const
