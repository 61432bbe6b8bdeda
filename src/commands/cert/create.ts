import {Flags} from '@oclif/core'

import {type Certificate, UsageError, allOrThrow, createCertificate, getCertificates} from '../../api/index.js'
import {BaseCommand, CERTIFICATE_TOPICS, commandAliases, readPemArgument, renderCertificates} from '../../cli/index.js'

export default class CertCreate extends BaseCommand<typeof CertCreate> {
  static override summary = 'Upload a TLS certificate and its private key.'
  static override description = `Uploads a certificate chain and its private key, for a service's custom domain (\`service create --domain D --certificate NAME\`).
--chain and --pkey each take the path of a PEM file, - to read it from stdin, or the PEM text itself (as kraft does). Prefer a file: text given on the command line is visible to other users of this machine. The private key is sent only to the API and never printed or logged.`
  static override hiddenAliases = commandAliases(CERTIFICATE_TOPICS, ['create', 'crt', 'new'])
  static override examples = [
    '<%= config.bin %> cert create --name my-cert --cn www.example.com --pkey key.pem --chain chain.pem',
    "<%= config.bin %> cert create --cn '*.example.com' --pkey - --chain fullchain.pem < privkey.pem",
  ]
  static override defaultOutput = 'table' as const

  static override flags = {
    name: Flags.string({char: 'n', summary: 'Name of the certificate (default: generated from the common name).'}),
    cn: Flags.string({char: 'c', required: true, summary: 'Common name (CN) of the certificate: a fully qualified domain name, e.g. www.example.com or *.example.com.'}),
    pkey: Flags.string({char: 'p', required: true, summary: 'Private key in PEM: a file path, - for stdin, or the PEM text.'}),
    chain: Flags.string({char: 'C', required: true, summary: 'Certificate chain in PEM: a file path, - for stdin, or the PEM text.'}),
  }

  async run(): Promise<Certificate[]> {
    const {flags} = this
    if (flags.pkey === '-' && flags.chain === '-') throw new UsageError('only one of --pkey and --chain can be read from stdin')
    const request = {
      ...(flags.name ? {name: flags.name} : {}),
      cn: flags.cn,
      chain: await readPemArgument(flags.chain, {flag: '--chain'}),
      pkey: await readPemArgument(flags.pkey, {flag: '--pkey', secret: true}),
    }
    const client = await this.client()
    const created = await createCertificate(client, request)
    const certificates = allOrThrow(await getCertificates(client, allOrThrow(created).map((c) => c.uuid)))
    this.show(certificates, created.raw, (format) => renderCertificates(certificates, format, {color: this.color}))
    return certificates
  }
}
