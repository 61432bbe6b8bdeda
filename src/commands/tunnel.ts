import {Flags} from '@oclif/core'

import {UsageError, parsePort} from '../api/index.js'
import {BaseCommand, ConfigStore, Spinner, parseDuration} from '../cli/index.js'
import type {TunnelReady} from '../tunnel/index.js'

export type {TunnelReady} from '../tunnel/index.js'

export default class Tunnel extends BaseCommand<typeof Tunnel> {
  static override summary = 'Forward local ports to private instances through a relay instance.'
  static override description = `Creates a short-lived relay instance published on 443 (http+tls) and carries every local TCP connection to the private target over one WebSocket, so private databases and services are reachable from your machine without exposing them.
Targets are instance names or UUIDs (resolved to their private IP), private IPs, or private FQDNs (<name>.internal). LOCAL_PORT defaults to DEST_PORT; 0 picks a free port. Several mappings share one relay.
The relay only accepts this run's 256-bit token (it is given only the token's SHA-256) and only dials the targets given here. It is deleted on Ctrl-C/SIGTERM; if this process dies, the relay stops by itself once heartbeats are missing (3× --heartbeat) and is deleted (delete-on-stop).
The relay image: --tunnel-image, else the profile's tunnelImage, else ukc/tunnel-relay on metro local and <user>/tunnel-relay:latest (a build of deploy/relay/) on a real metro; when your account has no such image, the official relay official/utils/tunnel:latest is used in legacy mode, with a line saying so.
Legacy mode (any image whose name contains utils/tunnel) speaks the official kraft relay's protocol — one TLS connection per forwarded connection to the relay's public port (4444, 4445, ... or -p) and a heartbeat on its control port (4443 or -P), authenticated by a 32-character cookie. See docs/tunnel.md.
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
    bind: Flags.string({summary: 'Local address to listen on (IPv6 in brackets, e.g. [::1]; localhost = 127.0.0.1 and ::1).', default: '127.0.0.1', env: 'UKC_TUNNEL_BIND'}),
    'tunnel-image': Flags.string({
      summary: 'Relay image (default: the profile\'s tunnelImage, else ukc/tunnel-relay locally and <user>/tunnel-relay:latest on a real metro); an official utils/tunnel image means legacy mode.',
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

  async run(): Promise<undefined> {
    const {flags} = this
    const {chooseRelay, parseBind, parseMappings, runTunnel} = await import('../tunnel/index.js')
    const mappings = parseMappings(this.positional)
    const bind = parseBind(flags.bind)
    const heartbeatMs = parseDuration(flags.heartbeat, {flag: '--heartbeat', minMs: 100})
    const idleTimeoutMs = flags['idle-timeout'] ? parseDuration(flags['idle-timeout'], {flag: '--idle-timeout', minMs: 1}) : undefined
    const drainMs = parseDuration(flags['drain-timeout'], {flag: '--drain-timeout'})
    const connectMs = parseDuration(flags['connect-timeout'], {flag: '--connect-timeout', minMs: 1})
    const proxyPorts = flags['tunnel-proxy-port']?.map((value) => relayPort(value, '--tunnel-proxy-port'))
    const controlPort = flags['tunnel-control-port'] === undefined ? undefined : relayPort(flags['tunnel-control-port'], '--tunnel-control-port')

    const target = await this.resolveTarget()
    const api = await this.client()
    const spinner = new Spinner(this.jsonEnabled())
    const progress = (text: string): void => (text ? spinner.start(text) : spinner.stop())
    const log = (line: string): void => {
      spinner.stop()
      process.stderr.write(`${line}\n`)
    }
    const flavour = chooseRelay({
      api,
      reach: {local: target.local, ca: target.ca},
      image: flags['tunnel-image'] || new ConfigStore(this.config.configDir).profile(target.profile).profile.tunnelImage || undefined,
      mappings: mappings.length,
      proxyPorts,
      controlPort,
      heartbeatMs,
      connectMs,
      progress,
      log,
    })
    await this.untilStopped(
      ({signal, onForcedExit}) =>
        runTunnel({
          api,
          mappings,
          bind,
          flavour,
          idleTimeoutMs,
          drainMs,
          connectMs,
          signal,
          onForcedExit,
          progress,
          log,
          onReady: (ready: TunnelReady) => {
            spinner.stop()
            this.ready(ready, ready.mappings.map((m) => `Forwarding ${m.local} -> ${m.target}`).join('\n'))
          },
        }),
      {watchStdin: flags['watch-stdin']},
    ).finally(() => spinner.stop())
    // Stopping is how a tunnel ends (exit 0); the ready line was its output.
    return undefined
  }
}

function relayPort(value: string, flag: string): number {
  const port = parsePort(value)
  if (port === undefined) throw new UsageError(`${flag} ${value}: not a port (1-65535)`)
  return port
}
