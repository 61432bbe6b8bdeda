import {Flags} from '@oclif/core'

import {UsageError} from '../api/index.js'
import {BaseCommand, Spinner, parseDuration} from '../cli/index.js'

export interface TunnelReady {
  status: 'ready'
  relay: {uuid: string; fqdn: string}
  mappings: Array<{local: string; target: string}>
}

export default class Tunnel extends BaseCommand<typeof Tunnel> {
  static override summary = 'Forward local ports to private instances through a relay instance.'
  static override description = `Creates a short-lived relay instance (image ukc/tunnel-relay) published on 443 (http+tls) and carries every local TCP connection to the private target over one WebSocket, so private databases and services are reachable from your machine without exposing them.
Targets are instance names or UUIDs (resolved to their private IP), private IPs, or private FQDNs (<name>.internal). LOCAL_PORT defaults to DEST_PORT; 0 picks a free port. Several mappings share one relay.
The relay only accepts this run's 256-bit token (it is given only the token's SHA-256) and only dials the targets given here. It is deleted on Ctrl-C/SIGTERM; if this process dies, the relay stops by itself once heartbeats are missing (3× --heartbeat) and is deleted (delete-on-stop).
Legacy mode: with --tunnel-image official/utils/tunnel:1.0 (any image whose name contains utils/tunnel) it speaks the official kraft relay's protocol instead — one TLS connection per forwarded connection to the relay's public port (4444, 4445, ... or -p) and a heartbeat on its control port (4443 or -P), authenticated by a 32-character cookie — so it works with the relay image Unikraft Cloud offers. See docs/tunnel.md.
Once listening it prints one "Forwarding LOCAL -> TARGET" line per mapping on stdout (with --json one {"status":"ready",...} line).`
  static override strict = false
  static override usage = 'tunnel [FLAGS] [LOCAL_PORT:]<INSTANCE|PRIVATE_IP|PRIVATE_FQDN>:DEST_PORT[/tcp] ...'
  static override examples = [
    '<%= config.bin %> tunnel db:5432',
    '<%= config.bin %> tunnel 15432:db:5432 6379:cache.internal:6379',
    '<%= config.bin %> tunnel --bind [::1] 0:172.16.28.8:8080/tcp',
    '<%= config.bin %> tunnel --json --heartbeat 5s 0:db:5432',
    'some-program | <%= config.bin %> tunnel --watch-stdin 0:db:5432',
    '<%= config.bin %> tunnel --tunnel-image official/utils/tunnel:1.0 --tunnel-proxy-port 5444 --tunnel-control-port 5443 8080:nginx:8080',
  ]

  static override flags = {
    bind: Flags.string({summary: 'Local address to listen on (IPv6 in brackets, e.g. [::1]).', default: '127.0.0.1', env: 'UKC_TUNNEL_BIND'}),
    'tunnel-image': Flags.string({
      summary: 'Relay image: ukc/tunnel-relay (a build of src/tunnel/relay on real Unikraft Cloud), or an official utils/tunnel image for legacy mode.',
      default: 'ukc/tunnel-relay',
      env: 'UKC_TUNNEL_IMAGE',
    }),
    'tunnel-proxy-port': Flags.string({
      char: 'p',
      multiple: true,
      // One value per -p, as in kraft: `-p 5500 my-instance:8080` keeps the mapping an argument.
      multipleNonGreedy: true,
      summary: 'Legacy mode: the relay\'s public port per mapping (one value = first of consecutive ports; default 4444). Ignored otherwise.',
    }),
    'tunnel-control-port': Flags.string({char: 'P', summary: 'Legacy mode: the relay\'s heartbeat port (default 4443). Ignored otherwise.'}),
    heartbeat: Flags.string({summary: 'Heartbeat interval; the relay stops after 3 missed heartbeats (legacy mode: after its own 600 s).', default: '10s', env: 'UKC_TUNNEL_HEARTBEAT'}),
    'idle-timeout': Flags.string({summary: 'Close a forwarded connection after this long without traffic (default: never).', env: 'UKC_TUNNEL_IDLE_TIMEOUT'}),
    'drain-timeout': Flags.string({summary: 'On Ctrl-C, how long open connections may finish before they are reset.', default: '5s'}),
    'connect-timeout': Flags.string({summary: 'How long to wait for a new relay to accept the tunnel.', default: '60s'}),
    'watch-stdin': Flags.boolean({summary: 'Stop (as on Ctrl-C) when standard input closes, e.g. when the program that started the tunnel dies.'}),
  }

  async run(): Promise<TunnelReady | undefined> {
    const {flags} = this
    const {isLegacyImage, parseBind, parseMappings} = await import('../tunnel/index.js')
    const mappings = parseMappings(this.positional)
    const bind = parseBind(flags.bind)
    const heartbeatMs = parseDuration(flags.heartbeat, {flag: '--heartbeat', minMs: 100})
    const idleTimeoutMs = flags['idle-timeout'] ? parseDuration(flags['idle-timeout'], {flag: '--idle-timeout', minMs: 1}) : undefined
    const drainMs = parseDuration(flags['drain-timeout'], {flag: '--drain-timeout'})
    const connectMs = parseDuration(flags['connect-timeout'], {flag: '--connect-timeout', minMs: 1})
    for (const value of [...(flags['tunnel-proxy-port'] ?? []), ...(flags['tunnel-control-port'] ? [flags['tunnel-control-port']] : [])]) {
      if (!/^\d{1,5}$/.test(value) || Number(value) < 1 || Number(value) > 65535) throw new UsageError(`"${value}" is not a valid port`)
    }
    const legacy = isLegacyImage(flags['tunnel-image'])
    if (!legacy && (flags['tunnel-proxy-port'] || flags['tunnel-control-port'])) {
      this.note('note: --tunnel-proxy-port and --tunnel-control-port are ignored: ukc\'s relay serves every mapping and its heartbeat on port 443')
    }

    const {openTunnel} = await import('../tunnel/cli-session.js')
    const target = await this.resolveTarget()
    const api = await this.client()
    const json = this.jsonEnabled()
    const spinner = new Spinner(json)
    await openTunnel({
      api,
      target,
      mappings,
      bind,
      image: flags['tunnel-image'],
      heartbeatMs,
      idleTimeoutMs,
      drainMs,
      connectMs,
      watchStdin: flags['watch-stdin'],
      proxyPorts: legacy ? flags['tunnel-proxy-port']?.map(Number) : undefined,
      controlPort: legacy && flags['tunnel-control-port'] ? Number(flags['tunnel-control-port']) : undefined,
      progress: (text) => (text ? spinner.start(text) : spinner.stop()),
      log: (line) => process.stderr.write(`${line}\n`),
      onReady: (info) => {
        spinner.stop()
        if (json) process.stdout.write(`${JSON.stringify(info)}\n`)
        else for (const m of info.mappings) this.out(`Forwarding ${m.local} -> ${m.target}`)
      },
    }).catch((error: unknown) => {
      spinner.stop()
      throw error
    })
    // Ctrl-C/SIGTERM after a clean shutdown is success (exit 0). Under --json the ready line was the
    // result; nothing more goes to stdout.
    return undefined
  }
}
