import {Args} from '@oclif/core'

import {type Certificate, getCertificates} from '../../api/index.js'
import {BaseCommand, CERTIFICATE_TOPICS, commandAliases, renderCertificates} from '../../cli/index.js'

export default class CertGet extends BaseCommand<typeof CertGet> {
  static override summary = 'Show the details of one or more TLS certificates.'
  static override description = 'Fetches certificates by name or UUID: state, validation attempts, subject, issuer, validity and the services using them. Certificates that do not exist are reported on stderr and make the command exit with code 4.'
  static override hiddenAliases = commandAliases(CERTIFICATE_TOPICS, ['get', 'status', 'info'])
  static override examples = ['<%= config.bin %> cert get my-cert', '<%= config.bin %> cert get my-cert --output table', '<%= config.bin %> cert get fd1684ea-7970-4994-92d6-61dcc7905f2b --json']
  static override strict = false
  static override args = {certificate: Args.string({description: 'Name or UUID of a certificate (several may be given).', required: true})}
  static override defaultOutput = 'list' as const

  async run(): Promise<Certificate[]> {
    const result = await getCertificates(await this.client(), this.positional)
    const certificates = this.settleBatch(result.items)
    this.show(result.items, result.raw, (format) => renderCertificates(certificates, format, {color: this.color}))
    return result.items
  }
}
