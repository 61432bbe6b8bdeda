import {Args, Flags} from '@oclif/core'

import {type ServiceGroup, UsageError, allOrThrow, createService, getServices} from '../../api/index.js'
import {BaseCommand, SERVICE_TOPICS, commandAliases, parseDomains, parsePortMappings, renderServices} from '../../cli/index.js'

export default class ServiceCreate extends BaseCommand<typeof ServiceCreate> {
  static override summary = 'Create a service that publishes ports.'
  static override description = `Creates a service: a public endpoint with its domains and published ports, which instances join with \`instance create --service\`. Several instances in one service are load balanced.
Ports are EXTERNAL:INTERNAL[/HANDLER[+HANDLER]] (handlers tls, http, redirect); a single 443:PORT also redirects port 80 to 443.`
  static override hiddenAliases = commandAliases(SERVICE_TOPICS, ['create', 'new'])
  static override examples = [
    '<%= config.bin %> service create --name my-service 443:8080/http+tls',
    '<%= config.bin %> service create --name my-service 443:8080',
    '<%= config.bin %> service create --subdomain shop --soft-limit 10 --hard-limit 100 443:8080',
    '<%= config.bin %> service create --domain www.example.com --certificate my-cert 443:8080',
  ]
  static override strict = false
  static override usage = 'service create [FLAGS] EXTERNAL:INTERNAL[/HANDLERS]...'
  static override args = {port: Args.string({description: 'Port to publish, EXTERNAL:INTERNAL[/HANDLERS] (several may be given).', required: true})}
  static override defaultOutput = 'table' as const

  static override flags = {
    name: Flags.string({char: 'n', summary: 'Name of the service (default: generated).'}),
    domain: Flags.string({char: 'd', multiple: true, multipleNonGreedy: true, summary: 'Fully qualified domain name.'}),
    subdomain: Flags.string({char: 's', multiple: true, multipleNonGreedy: true, summary: 'Subdomain under the metro domain (wins over --domain).'}),
    certificate: Flags.string({char: 'c', multiple: true, multipleNonGreedy: true, summary: 'Certificate (name or UUID) for the --domain at the same position.'}),
    'soft-limit': Flags.integer({char: 'l', min: 1, max: 65535, summary: 'Connections per instance before another instance is woken (default 1).'}),
    'hard-limit': Flags.integer({char: 'L', min: 1, max: 65535, summary: 'Connections per instance that are never exceeded (default 65535).'}),
  }

  async run(): Promise<ServiceGroup[]> {
    const {flags} = this
    const soft = flags['soft-limit']
    const hard = flags['hard-limit']
    if (soft !== undefined && hard !== undefined && soft > hard) {
      throw new UsageError(`--soft-limit (${soft}) must not be greater than --hard-limit (${hard})`)
    }
    const request = {
      ...(flags.name ? {name: flags.name} : {}),
      services: parsePortMappings(this.positional),
      domains: parseDomains({domains: flags.domain, subdomains: flags.subdomain, certificates: flags.certificate}),
      ...(soft === undefined ? {} : {soft_limit: soft}),
      ...(hard === undefined ? {} : {hard_limit: hard}),
    }
    const client = await this.client()
    const created = await createService(client, request)
    const services = allOrThrow(await getServices(client, allOrThrow(created).map((s) => s.uuid)))
    this.show(services, created.raw, (format) => renderServices(services, format))
    return services
  }
}
