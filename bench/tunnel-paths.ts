// The processes behind bench:tunnel's comparison columns, all on loopback and owned by the bench
// (ended by pid): `ssh -L` to a private OpenSSH server with throw-away keys, and the "tunnel alone"
// path — the tunnel client program → a TLS terminator (socat, standing in for the cloud's edge) →
// the relay program → the target processes themselves, without the embedded platform's hops.
import {type ChildProcess, execFileSync, spawn} from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {setTimeout as delay} from 'node:timers/promises'

import {hashToken, relayArgs} from '../src/tunnel/index.js'
import {type Endpoint, freePort, waitListening} from './tunnel-load.js'

const SSHD = '/usr/sbin/sshd'

/** Every child the bench started; `endAll` ends them by pid, newest first. */
export class OwnedProcesses {
  private readonly children: ChildProcess[] = []

  spawn(command: string, args: string[], options: Parameters<typeof spawn>[2] = {}): ChildProcess {
    const child = spawn(command, args, {stdio: ['ignore', 'ignore', 'pipe'], ...options})
    this.children.push(child)
    return child
  }

  /** A child started elsewhere that the bench must end too. */
  adopt(child: ChildProcess): void {
    this.children.push(child)
  }

  async endAll(): Promise<void> {
    const exits = this.children.reverse().map((child) => {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      child.kill('SIGTERM')
      return Promise.race([exited, delay(5000).then(() => void child.kill('SIGKILL'))])
    })
    await Promise.all(exits)
  }
}

/** Where a path's local ports are, and the pids whose CPU it costs. */
export interface StartedPath {
  /** Local endpoint per target, in the order given. */
  endpoints: Endpoint[]
  /** Process name → pid (its whole process tree is counted). */
  pids: Record<string, number>
}

/** Why the ssh column cannot run on this machine, or undefined when it can. */
export function sshMissing(): string | undefined {
  for (const [file, pkg] of [
    [SSHD, 'openssh-server'],
    ['/usr/bin/ssh', 'openssh-client'],
    ['/usr/bin/ssh-keygen', 'openssh-client'],
  ] as const) {
    if (!fs.existsSync(file)) return `${file} is missing: install it with \`apt-get install -y ${pkg}\` (Debian/Ubuntu) for the ssh -L column`
  }
  return undefined
}

/**
 * A private sshd on 127.0.0.1 (own config, host key and authorized key in `dir`, the current user)
 * and `ssh -N -L` forwarding one local port per target through it.
 */
export async function startSsh(owned: OwnedProcesses, dir: string, targets: Endpoint[]): Promise<StartedPath> {
  fs.mkdirSync(dir, {recursive: true, mode: 0o700})
  const key = (name: string): unknown => execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ukc-bench', '-f', path.join(dir, name)])
  key('host_key')
  key('user_key')
  fs.copyFileSync(path.join(dir, 'user_key.pub'), path.join(dir, 'authorized_keys'))
  const port = await freePort()
  const config = [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${path.join(dir, 'host_key')}`,
    `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
    'PidFile none',
    'StrictModes no',
    'UsePAM no',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    'AllowTcpForwarding yes',
    'LogLevel ERROR',
  ]
  fs.writeFileSync(path.join(dir, 'sshd_config'), `${config.join('\n')}\n`)
  const sshdArgs = ['-D', '-e', '-f', path.join(dir, 'sshd_config')]
  // As root, sshd insists on its privilege-separation directory /run/sshd. Where the system has none,
  // give this sshd one in a mount namespace of its own (a tmpfs on /run that only it sees) rather than
  // creating it on the host; unshare execs, so the pid is sshd's.
  const needsRunDir = process.getuid?.() === 0 && !fs.existsSync('/run/sshd')
  const sshd = needsRunDir
    ? owned.spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs tmpfs /run && mkdir -m 0755 /run/sshd && exec "$0" "$@"', SSHD, ...sshdArgs])
    : owned.spawn(SSHD, sshdArgs)
  let sshdErr = ''
  sshd.stderr?.on('data', (d: Buffer) => (sshdErr += d.toString()))
  await waitListening(port, `sshd (${sshdErr.trim()})`)
  const locals = await Promise.all(targets.map(() => freePort()))
  const forwards = targets.flatMap((t, i) => ['-L', `127.0.0.1:${locals[i]}:${t.host}:${t.port}`])
  const ssh = owned.spawn('ssh', [
    '-F', '/dev/null', '-N', '-i', path.join(dir, 'user_key'), '-p', String(port),
    '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${path.join(dir, 'known_hosts')}`,
    '-o', 'BatchMode=yes', '-o', 'ExitOnForwardFailure=yes', '-o', 'LogLevel=ERROR',
    ...forwards, `${os.userInfo().username}@127.0.0.1`,
  ])
  let sshErr = ''
  ssh.stderr?.on('data', (d: Buffer) => (sshErr += d.toString()))
  for (const local of locals) await waitListening(local, `ssh -L (${sshErr.trim()})`)
  return {endpoints: locals.map((port) => ({host: '127.0.0.1', port})), pids: {'ssh': ssh.pid ?? 0, 'sshd': sshd.pid ?? 0}}
}

/**
 * The tunnel without the platform: the relay program on 127.0.0.1 allowed to reach `targets`, socat
 * terminating TLS in front of it with a throw-away certificate, and the tunnel client program (the
 * CLI's listeners and WebSocket link) connected through it; both node programs get `env` (which may
 * preload a profiler).
 */
export async function startTunnelAlone(owned: OwnedProcesses, dir: string, targets: Endpoint[], root: string, env: NodeJS.ProcessEnv = process.env): Promise<StartedPath> {
  fs.mkdirSync(dir, {recursive: true, mode: 0o700})
  const [cert, key] = [path.join(dir, 'relay.pem'), path.join(dir, 'relay.key')]
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=relay.localhost', '-addext', 'subjectAltName=DNS:relay.localhost'], {stdio: 'ignore'})
  const token = crypto.randomBytes(32).toString('base64url')
  const allow = targets.map((t) => `${t.host}:${t.port}`)
  const relayPort = await freePort()
  const relay = owned.spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/tunnel/relay/main.ts'), ...relayArgs({tokenHash: hashToken(token), allow, heartbeatTimeoutMs: 60_000})], {
    cwd: root,
    env: {...env, PORT: String(relayPort), UKC_LISTEN_HOST: '127.0.0.1'},
  })
  await waitListening(relayPort, 'the relay program')
  const tlsPort = await freePort()
  // -b: socat's default 8 KiB per read would make the terminator, not the tunnel, the bottleneck.
  const terminator = owned.spawn('socat', ['-b', '262144', `OPENSSL-LISTEN:${tlsPort},bind=127.0.0.1,reuseaddr,fork,nodelay,cert=${cert},key=${key},verify=0`, `TCP:127.0.0.1:${relayPort},nodelay`])
  await waitListening(tlsPort, 'the TLS terminator (socat)')
  const client = owned.spawn(process.execPath, ['--import', 'tsx', path.join(root, 'bench/tunnel-alone-client.ts')], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...env,
      UKC_BENCH_RELAY_URL: `wss://relay.localhost:${tlsPort}/`,
      UKC_BENCH_CONNECT_HOST: '127.0.0.1',
      UKC_BENCH_CA_FILE: cert,
      UKC_BENCH_TOKEN: token,
      UKC_BENCH_TARGETS: allow.join(','),
    },
  })
  let out = ''
  client.stdout?.on('data', (d: Buffer) => (out += d.toString()))
  for (let i = 0; i < 800 && !out.includes('\n'); i++) {
    if (client.exitCode !== null) break
    await delay(25)
  }
  if (!out.includes('\n')) throw new Error('the tunnel-alone client did not become ready')
  const {ports} = JSON.parse(out.split('\n')[0] ?? '{}') as {ports: number[]}
  return {endpoints: ports.map((port) => ({host: '127.0.0.1', port})), pids: {client: client.pid ?? 0, 'TLS (socat)': terminator.pid ?? 0, relay: relay.pid ?? 0}}
}
