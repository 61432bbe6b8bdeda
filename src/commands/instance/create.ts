import {Args, Flags} from '@oclif/core'

import {
  type CreateInstanceRequest,
  type Instance,
  type ScaleToZero,
  type ScaleToZeroPolicy,
  type ServiceGroup,
  type RestartPolicy,
  UsageError,
  allOrThrow,
  createInstance,
  getInstances,
  getServices,
  refOf,
  waitInstances,
} from '../../api/index.js'
import {
  BaseCommand,
  INSTANCE_TOPICS,
  Spinner,
  commandAliases,
 
  normalizeImage,
  parseDomains,
  parseDuration,
  parseEnv,
  parseMemory,
  parsePortMappings,
  parseVolume,
  renderCreateSummary,
  renderInstances,
} from '../../cli/index.js'

export default class InstanceCreate extends BaseCommand<typeof InstanceCreate> {
  static override summary = 'Create an instance from an image.'
  static override description = `Creates an instance on Unikraft Cloud from IMAGE; arguments after \`--\` are passed to the application.
Publishing a port (--port) or a domain creates a service for the instance; --service attaches it to an existing one instead. An instance with neither is private: it is reachable only at <name>.internal and scale-to-zero is off unless you ask for it.
A single --port 443:PORT also redirects port 80 to 443 (as kraft does).`
  static override hiddenAliases = commandAliases(INSTANCE_TOPICS, ['create', 'new'])
  static override examples = [
    '<%= config.bin %> instance create --start --port 443:8080 nginx:latest',
    '<%= config.bin %> instance create --start --port 443:8080/http+tls --port 80:443/http+redirect nginx:latest',
    '<%= config.bin %> instance create --start --volume my-data-vol:/data --volume my-config-vol:/config:ro nginx:latest',
    '<%= config.bin %> instance create --name api --env DATABASE_URL --memory 512Mi --start --wait my-api:latest -- --verbose',
  ]
  static override strict = false
  static override usage = 'instance create [FLAGS] IMAGE [-- ARGS...]'
  static override args = {
    image: Args.string({description: 'Image to run, e.g. nginx:latest; arguments for the application follow `--`.', required: true}),
  }
  static override defaultOutput = 'list' as const

  static override flags = {
    name: Flags.string({char: 'n', summary: 'Name of the instance (default: generated from the image).'}),
    port: Flags.string({char: 'p', multiple: true, multipleNonGreedy: true, summary: 'Publish a port: EXTERNAL:INTERNAL[/HANDLER[+HANDLER]] or PORT[/HANDLERS]; handlers tls, http, redirect.'}),
    env: Flags.string({char: 'e', multiple: true, multipleNonGreedy: true, summary: 'Environment variable KEY=VALUE, or KEY to copy it from your environment (values may contain commas).'}),
    memory: Flags.string({char: 'M', summary: 'Memory: MiB as an integer, or a quantity such as 512Mi or 1Gi.'}),
    vcpus: Flags.integer({char: 'V', min: 1, summary: 'Number of virtual CPUs.'}),
    replicas: Flags.integer({char: 'R', min: 0, summary: 'Extra replicas to create besides the instance.'}),
    restart: Flags.string({options: ['never', 'always', 'on-failure'], default: 'never', summary: 'Restart policy when the instance stops.'}),
    'scale-to-zero': Flags.string({options: ['on', 'off', 'idle'], summary: 'Scale-to-zero policy.'}),
    'scale-to-zero-cooldown': Flags.string({summary: 'Idle time before scaling to zero, a duration such as 500ms, 10s or 1m.'}),
    'scale-to-zero-stateful': Flags.boolean({allowNo: true, summary: 'Keep the memory state while scaled to zero.'}),
    service: Flags.string({char: 'g', summary: 'Attach to an existing service (name or UUID) instead of creating one.'}),
    subdomain: Flags.string({char: 's', multiple: true, multipleNonGreedy: true, summary: 'Subdomain under the metro domain for the new service (wins over --domain).'}),
    domain: Flags.string({char: 'd', multiple: true, multipleNonGreedy: true, summary: 'Fully qualified domain name for the new service.'}),
    certificate: Flags.string({char: 'c', multiple: true, multipleNonGreedy: true, summary: 'Certificate (name or UUID) for the --domain at the same position.'}),
    volume: Flags.string({char: 'v', multiple: true, multipleNonGreedy: true, summary: 'Mount a volume: VOLUME:PATH[:ro], VOLUME a name or UUID.'}),
    feature: Flags.string({char: 'f', multiple: true, multipleNonGreedy: true, summary: 'Instance feature, e.g. delete-on-stop.'}),
    entrypoint: Flags.string({multiple: true, multipleNonGreedy: true, summary: 'Replace the image\'s default arguments (the arguments after `--` follow).'}),
    start: Flags.boolean({char: 'S', summary: 'Start the instance once it is created.'}),
    wait: Flags.boolean({char: 'w', summary: 'Wait until the instance is running (needs --start).'}),
    'wait-timeout': Flags.string({default: '60s', summary: 'How long --wait waits, a duration such as 30s or 2m.'}),
  }

  async run(): Promise<Instance[]> {
    const request = this.buildRequest()
    const waitMs = this.flags.wait ? parseDuration(this.flags['wait-timeout'], {flag: '--wait-timeout', minMs: 1}) : undefined
    if (waitMs !== undefined && !request.autostart) throw new UsageError('--wait needs --start: a created instance stays stopped otherwise')
    const client = await this.client()

    const created = await createInstance(client, request)
    const uuids = allOrThrow(created).map((i) => i.uuid)
    if (waitMs !== undefined) {
      const spinner = new Spinner(this.jsonEnabled())
      spinner.start(`waiting for ${uuids.length === 1 ? 'the instance' : `${uuids.length} instances`} to be running`)
      try {
        // An instance that did not get there is reported (and sets the exit code), but still shown.
        this.settleBatch((await waitInstances(client, uuids, 'running', waitMs)).items)
      } finally {
        spinner.stop()
      }
    }
    const instances = allOrThrow(await getInstances(client, uuids))
    await this.print(instances, created.raw)
    if (request.autostart) {
      // Still `starting` is normal right after create, unless we waited for running.
      const offline = (i: Instance) => i.state === 'stopped' || (waitMs !== undefined && i.state !== 'running' && i.state !== 'standby')
      for (const instance of instances.filter(offline)) {
        this.note(`it looks like the instance did not come online, to view logs run: ${this.config.bin} instance logs ${instance.name}`)
      }
    }
    return instances
  }

  private buildRequest(): CreateInstanceRequest {
    const {flags} = this
    const [imageArg, ...appArgs] = this.positional
    const ports = flags.port ?? []
    if (flags.service) {
      const clashes: Array<[unknown[] | undefined, string]> = [
        [flags.port, '--port|-p'],
        [flags.domain, '--domain|-d'],
        [flags.subdomain, '--subdomain|-s'],
        [flags.certificate, '--certificate|-c'],
      ]
      for (const [value, name] of clashes) {
        if (value && value.length > 0) throw new UsageError(`cannot use existing --service|-g and define new ${name}`)
      }
    }
    const services = parsePortMappings(ports)
    const domains = parseDomains({domains: flags.domain, subdomains: flags.subdomain, certificates: flags.certificate})
    const args = [...(flags.entrypoint ?? []), ...appArgs]
    const request: CreateInstanceRequest = {
      image: normalizeImage(imageArg),
      ...(flags.name ? {name: flags.name.replaceAll('/', '-')} : {}),
      ...(args.length > 0 ? {args} : {}),
      ...(flags.env && flags.env.length > 0 ? {env: parseEnv(flags.env)} : {}),
      ...(flags.memory ? {memory_mb: parseMemory(flags.memory)} : {}),
      ...(flags.vcpus === undefined ? {} : {vcpus: flags.vcpus}),
      ...(flags.replicas === undefined ? {} : {replicas: flags.replicas}),
      autostart: Boolean(flags.start),
      restart_policy: flags.restart as RestartPolicy,
      ...(flags.feature && flags.feature.length > 0 ? {features: [...new Set(flags.feature)]} : {}),
      ...(flags.volume && flags.volume.length > 0 ? {volumes: flags.volume.map(parseVolume)} : {}),
    }
    const scaleToZero = this.scaleToZero()
    if (flags.service) {
      request.service_group = refOf(flags.service)
    } else if (services.length > 0 || domains.length > 0) {
      request.service_group = {services, domains}
    }
    if (!request.service_group && !scaleToZero) {
      this.note('no ports or service specified, disabling scale to zero')
      request.scale_to_zero = {policy: 'off'}
    } else if (scaleToZero) {
      request.scale_to_zero = scaleToZero
    }
    return request
  }

  /** Sent only when one of the three flags is given; cooldown or stateful alone mean policy `on`. */
  private scaleToZero(): ScaleToZero | undefined {
    const {flags} = this
    const policy = flags['scale-to-zero'] as ScaleToZeroPolicy | undefined
    const cooldown = flags['scale-to-zero-cooldown']
    const stateful = flags['scale-to-zero-stateful']
    if (policy === undefined && cooldown === undefined && stateful === undefined) return undefined
    return {
      policy: policy ?? 'on',
      ...(stateful === undefined ? {} : {stateful}),
      ...(cooldown === undefined ? {} : {cooldown_time_ms: parseDuration(cooldown, {flag: '--scale-to-zero-cooldown', minMs: 1})}),
    }
  }

  private async print(instances: Instance[], raw: string): Promise<void> {
    const format = this.format
    if (format === 'list' && instances.length === 1) {
      const [instance] = instances
      const service = instance.service_group ? await this.serviceOf(instance) : undefined
      const target = await this.resolveTarget()
      const httpsPort = target.local?.gateway.ports['443']
      this.out(renderCreateSummary(instance, {metro: target.metro, service, color: this.color, httpsPort}))
      return
    }
    this.show(instances, raw, () => renderInstances(instances, 'table', {color: this.color}))
  }

  /** The instance's service, for its published ports (the https:// prefix); none when it cannot be read. */
  private async serviceOf(instance: Instance): Promise<ServiceGroup | undefined> {
    const ref = instance.service_group
    if (!ref) return undefined
    const result = await getServices(await this.client(), [ref.uuid || ref.name])
    return result.items.find((s) => s.status !== 'error')
  }
}
