import {LOCAL_METRO, METROS, baseUrlForMetro} from '../../api/index.js'
import {BaseCommand, type Column, renderList, renderTable} from '../../cli/index.js'

export interface MetroRow {
  code: string
  location: string
  api: string
  legacy: boolean
}

const COLUMNS: Column<MetroRow>[] = [
  {header: 'CODE', value: (m) => m.code},
  {header: 'LOCATION', value: (m) => m.location},
  {header: 'API', value: (m) => m.api},
  {header: 'LEGACY', value: (m) => String(m.legacy)},
]

export default class MetroList extends BaseCommand<typeof MetroList> {
  static override summary = 'List the metros ukc knows.'
  static override description = `Lists the Unikraft Cloud metros and their API URLs (the legacy fra0-style metros are kraft.cloud's), plus "local", the embedded platform. Any full API URL is also accepted as --metro.`
  static override hiddenAliases = ['metro:ls', 'metros:list', 'metros:ls', 'm:list', 'm:ls']
  static override examples = ['<%= config.bin %> metro list', '<%= config.bin %> metro list --json']
  static override defaultOutput = 'table' as const

  async run(): Promise<MetroRow[]> {
    const rows: MetroRow[] = [
      ...METROS.map((m) => ({code: m.code, location: m.location, api: baseUrlForMetro(m.code), legacy: m.legacy})),
      {code: LOCAL_METRO, location: 'this machine (ukc local start)', api: '', legacy: false},
    ]
    this.show(rows, JSON.stringify(rows), (format) => (format === 'table' ? renderTable(COLUMNS, rows) : renderList(COLUMNS, rows)))
    return rows
  }
}
