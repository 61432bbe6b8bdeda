import {Args, Flags} from '@oclif/core'

import {type Certificate, UsageError, deleteCertificates, getCertificates} from '../../api/index.js'
import {BaseCommand, CERTIFICATE_REF_COLUMNS, CERTIFICATE_TOPICS, commandAliases, renderCertificates} from '../../cli/index.js'

export default class CertRemove extends BaseCommand<typeof CertRemove> {
  static override summary = 'Remove one or more TLS certificates.'
  static override description = 'Deletes certificates by name or UUID, or every certificate with --all. The API refuses to delete a certificate that a service still uses (exit code 5).'
  static override hiddenAliases = commandAliases(CERTIFICATE_TOPICS, ['remove', 'rm', 'delete', 'del'])
  static override examples = ['<%= config.bin %> cert remove my-cert', '<%= config.bin %> cert remove my-cert old-cert', '<%= config.bin %> cert remove --all --yes']
  static override strict = false
  static override args = {certificate: Args.string({description: 'Name or UUID of a certificate (several may be given).'})}
  static override defaultOutput = 'table' as const

  static override flags = {
    all: Flags.boolean({char: 'a', summary: 'Remove every certificate.'}),
    yes: Flags.boolean({char: 'y', summary: 'Do not ask for confirmation with --all.'}),
  }

  async run(): Promise<Certificate[]> {
    const {all, yes} = this.flags
    if (all && this.positional.length > 0) throw new UsageError('either specify certificate names or UUIDs, or use the --all flag, not both')
    if (!all && this.positional.length === 0) throw new UsageError('either specify a certificate name or UUID, or use the --all flag')
    const client = await this.client()
    let ids = this.positional
    if (all) {
      await this.confirmDestructive('Remove every certificate?', yes)
      ids = this.settleBatch((await getCertificates(client)).items).map((c) => c.uuid)
    }
    if (ids.length === 0) {
      this.note('no certificates to remove')
      return []
    }
    this.note(`removing ${ids.length} certificate(s)`)
    const result = await deleteCertificates(client, ids)
    const removed = this.settleBatch(result.items)
    this.show(result.items, result.raw, (format) => renderCertificates(removed, format, {columns: CERTIFICATE_REF_COLUMNS}))
    return result.items
  }
}
