import {Args, Flags} from '@oclif/core'

import {
  type CreateInstanceRequest,
  ExitCode,
  type Instance,
  type ScaleToZero,
  type ScaleToZeroPolicy,
  type ServiceGroup,
  type RestartPolicy,
  type UkcClient,
  UkcError,
  UsageError,
  allOrThrow,
  createInstance,
  firstOrThrow,
  getInstances,
  getServices,
  refOf,
  waitForImage,
  waitInstances,
} from '../../api/index.js'
import {
  BaseCommand,
  INSTANCE_TOPICS,
  ROLLOUT_CHOICES,
  ROLLOUT_QUALIFIERS,
  ROLLOUT_STRATEGIES,
  type RolloutQualifier,
  type RolloutStrategy,
  Spinner,
  commandAliases,
  completeRollout,
  normalizeImage,
  parseDomains,
  parseDuration,
  parseEnv,
  parseMemory,
  parsePortMappings,
  parseVolume,
  prompts,
  qualifiedInstances,
  renderCreateSummary,
  renderInstances,
} from '../../cli/index.js'

/** What a rollout will do once the new instances are created. */
interface RolloutPlan {
  old: Instance[]
  strategy: RolloutStrategy
}

export default class InstanceCreate extends BaseCommand<typeof InstanceCreate> {
  static override summary = 'Create an instance from an image.'
  static override description = `Creates an instance on Unikraft Cloud from IMAGE; arguments after \`--\` are passed to the application.
Publishing a port (--port) or a domain creates a service for the instance; --service attaches it to an existing one instead. An instance with neither is private: it is reachable only at <name>.internal and scale-to-zero is off unless you ask for it.
A single --port 443:PORT also redirects port 80 to 443 (as kraft does).
Rolling update (kraft's): with --service and --start, the service's instances that match --rollout-qualifier (by default the same image name, any tag) are replaced once the new instance runs: --rollout stop drains and stops them, remove drains, stops and deletes them, keep leaves them, abort refuses to deploy; without --rollout ukc asks on a terminal and fails elsewhere. If the new instance is not running within --rollout-wait, the old ones are kept. ukc adds --rollout-drain-timeout (kraft drains for 60 ms).
--wait-for-image polls the image list until IMAGE shows up (a fresh push takes a moment); kraft's short flag for it, -w, is --wait in ukc.`
  static override hiddenAliases = commandAliases(INSTANCE_TOPICS, ['create', 'new'])
  static override examples = [
    '<%= config.bin %> instance create --start --port 443:8080 nginx:latest',
    '<%= config.bin %> instance create --start --port 443:8080/http+tls --port 80:443/http+redirect nginx:latest',
    '<%= config.bin %> instance create --start --volume my-data-vol:/data --volume my-config-vol:/config:ro nginx:latest',
    '<%= config.bin %> instance create --name api --env DATABASE_URL --memory 512Mi --start --wait my-api:latest -- --verbose',
    '<%= config.bin %> instance create --service my-service --start --rollout remove --rollout-qualifier image --rollout-wait 30s my-api:2.0',
    '<%= config.bin %> instance create --wait-for-image --wait-for-image-timeout 2m --start my-api:latest',
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
    rollout: Flags.string({options: [...ROLLOUT_CHOICES], default: 'prompt', summary: 'With --service and --start: what to do with the service\'s matching instances (stop, remove, keep, abort; prompt asks).'}),
    'rollout-qualifier': Flags.string({options: [...ROLLOUT_QUALIFIERS], default: 'image', summary: 'Which instances of the service the rollout replaces: same image name, same instance name, all, or none.'}),
    'rollout-wait': Flags.string({default: '10s', summary: 'How long the new instance gets to be running before the old ones are stopped, a duration.'}),
    'rollout-drain-timeout': Flags.string({default: '60s', summary: 'How long each replaced instance may drain its connections before it stops, a duration (ukc addition).'}),
    'wait-for-image': Flags.boolean({summary: 'Wait until the image is available before creating the instance.'}),
    'wait-for-image-timeout': Flags.string({default: '60s', summary: 'How long --wait-for-image waits, a duration.'}),
  }

  async run(): Promise<Instance[]> {
    const request = this.buildRequest()
    const waitMs = this.flags.wait ? parseDuration(this.flags['wait-timeout'], {flag: '--wait-timeout', minMs: 1}) : undefined
    if (waitMs !== undefined && !request.autostart) throw new UsageError('--wait needs --start: a created instance stays stopped otherwise')
    const rolloutWaitMs = parseDuration(this.flags['rollout-wait'], {flag: '--rollout-wait', minMs: 1})
    const drainMs = parseDuration(this.flags['rollout-drain-timeout'], {flag: '--rollout-drain-timeout'})
    const client = await this.client()
    if (this.flags['wait-for-image']) await this.waitForImage(client, request.image)
    const rollout = await this.planRollout(client, request)

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
    if (rollout && (rollout.strategy === 'stop' || rollout.strategy === 'remove')) {
      await completeRollout(client, {
        created: uuids,
        old: rollout.old,
        strategy: rollout.strategy,
        waitMs: rolloutWaitMs,
        drainMs,
        note: (line) => this.note(line),
        settle: (items) => this.settleBatch(items),
      })
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

  private async waitForImage(client: UkcClient, image: string): Promise<void> {
    const timeoutMs = parseDuration(this.flags['wait-for-image-timeout'], {flag: '--wait-for-image-timeout', minMs: 1})
    const spinner = new Spinner(this.jsonEnabled())
    spinner.start(`waiting for image ${image}`)
    try {
      await waitForImage(client, image, timeoutMs)
    } finally {
      spinner.stop()
    }
  }

  /**
   * kraft's rollout decision, before anything is created: the service's instances the new one replaces
   * and what happens to them. Only with --service and --start.
   */
  private async planRollout(client: UkcClient, request: CreateInstanceRequest): Promise<RolloutPlan | undefined> {
    const {flags} = this
    if (!flags.service || !request.autostart) return undefined
    const service = firstOrThrow(await getServices(client, [flags.service]))
    const members = (service.instances ?? []).map((i) => i.uuid)
    const instances = members.length === 0 ? [] : allOrThrow(await getInstances(client, members))
    const old = qualifiedInstances(instances, flags['rollout-qualifier'] as RolloutQualifier, {image: request.image, name: request.name})
    if (old.length === 0) return undefined
    let strategy = flags.rollout as RolloutStrategy | 'prompt'
    if (strategy === 'prompt') {
      if (!this.interactive) {
        const names = old.map((i) => i.name).join(', ')
        throw new UsageError(`deployment already exists: ${old.length} instance(s) of ${service.name} match --rollout-qualifier ${flags['rollout-qualifier']} (${names})`, 'choose what happens to them with --rollout stop|remove|keep|abort')
      }
      strategy = await prompts.select(`deployment already exists: what would you like to do with the ${old.length} existing instance(s)?`, ROLLOUT_STRATEGIES)
      this.note(`use --rollout=${strategy} to skip this prompt in the future`)
    }
    if (strategy === 'abort') {
      throw new UkcError('deployment already exists and merge strategy set to exit on conflict', {exitCode: ExitCode.Conflict, code: 'CONFLICT', hint: 'choose another --rollout, or --rollout-qualifier none'})
    }
    return {old, strategy}
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
