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
Once listening it prints one "Forwarding LOCAL -> TARGET" line per mapping on stdout (with --json one {"status":"ready",...} line).`
  static override strict = false
  static override usage = 'tunnel [FLAGS] [LOCAL_PORT:]<INSTANCE|PRIVATE_IP|PRIVATE_FQDN>:DEST_PORT[/tcp] ...'
  static override examples = [
    '<%= config.bin %> tunnel db:5432',
    '<%= config.bin %> tunnel 15432:db:5432 6379:cache.internal:6379',
    '<%= config.bin %> tunnel --bind [::1] 0:172.16.28.8:8080/tcp',
    '<%= config.bin %> tunnel --json --heartbeat 5s 0:db:5432',
    'some-program | <%= config.bin %> tunnel --watch-stdin 0:db:5432',
  ]

  static override flags = {
    bind: Flags.string({summary: 'Local address to listen on (IPv6 in brackets, e.g. [::1]).', default: '127.0.0.1', env: 'UKC_TUNNEL_BIND'}),
    'tunnel-image': Flags.string({summary: 'Relay image (a build of src/tunnel/relay on real Unikraft Cloud).', default: 'ukc/tunnel-relay', env: 'UKC_TUNNEL_IMAGE'}),
    'tunnel-proxy-port': Flags.string({
      char: 'p',
      multiple: true,
      summary: 'Accepted for kraft compatibility and ignored: all mappings share the relay\'s port 443.',
    }),
    'tunnel-control-port': Flags.string({char: 'P', summary: 'Accepted for kraft compatibility and ignored: heartbeats travel on the tunnel\'s WebSocket.'}),
    heartbeat: Flags.string({summary: 'Heartbeat interval; the relay stops after 3 missed heartbeats.', default: '10s', env: 'UKC_TUNNEL_HEARTBEAT'}),
    'idle-timeout': Flags.string({summary: 'Close a forwarded connection after this long without traffic (default: never).', env: 'UKC_TUNNEL_IDLE_TIMEOUT'}),
    'drain-timeout': Flags.string({summary: 'On Ctrl-C, how long open connections may finish before they are reset.', default: '5s'}),
    'connect-timeout': Flags.string({summary: 'How long to wait for a new relay to accept the tunnel.', default: '60s'}),
    'watch-stdin': Flags.boolean({summary: 'Stop (as on Ctrl-C) when standard input closes, e.g. when the program that started the tunnel dies.'}),
  }

  async run(): Promise<TunnelReady | undefined> {
    const {flags} = this
    const {parseBind, parseMappings} = await import('../tunnel/index.js')
    const mappings = parseMappings(this.positional)
    const bind = parseBind(flags.bind)
    const heartbeatMs = parseDuration(flags.heartbeat, {flag: '--heartbeat', minMs: 100})
    const idleTimeoutMs = flags['idle-timeout'] ? parseDuration(flags['idle-timeout'], {flag: '--idle-timeout', minMs: 1}) : undefined
    const drainMs = parseDuration(flags['drain-timeout'], {flag: '--drain-timeout'})
    const connectMs = parseDuration(flags['connect-timeout'], {flag: '--connect-timeout', minMs: 1})
    for (const value of [...(flags['tunnel-proxy-port'] ?? []), ...(flags['tunnel-control-port'] ? [flags['tunnel-control-port']] : [])]) {
      if (!/^\d{1,5}$/.test(value) || Number(value) < 1 || Number(value) > 65535) throw new UsageError(`"${value}" is not a valid port`)
    }
    if (flags['tunnel-proxy-port'] || flags['tunnel-control-port']) {
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
