import {type Certificate, getCertificates} from '../../api/index.js'
import {BaseCommand, CERTIFICATE_TOPICS, commandAliases, renderCertificates} from '../../cli/index.js'

export default class CertList extends BaseCommand<typeof CertList> {
  static override summary = 'List your TLS certificates.'
  static override description = 'Lists every TLS certificate of the user in the metro with its state (valid, pending, error) and common name; -o list adds issuer, validity and the services using it.'
  static override hiddenAliases = commandAliases(CERTIFICATE_TOPICS, ['list', 'ls'])
  static override examples = ['<%= config.bin %> cert list', '<%= config.bin %> cert list --output list', '<%= config.bin %> cert list --output yaml']
  static override defaultOutput = 'table' as const

  async run(): Promise<Certificate[]> {
    const result = await getCertificates(await this.client())
    const certificates = this.settleBatch(result.items)
    this.show(result.items, result.raw, (format) => renderCertificates(certificates, format, {color: this.color}), 'No certificates. Upload one with `ukc cert create`.')
    return result.items
  }
}
