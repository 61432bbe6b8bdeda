// The client half of `ukc tunnel` as a program of its own, for bench:tunnel's "tunnel alone" column:
// the same listeners and WebSocket link the CLI runs, pointed at a relay endpoint the bench started
// itself (no API, no relay instance). Reads UKC_BENCH_RELAY_URL, UKC_BENCH_CONNECT_HOST,
// UKC_BENCH_CA_FILE, UKC_BENCH_TOKEN (the token stays out of the process's arguments) and
// UKC_BENCH_TARGETS ("host:port,…"); prints one JSON line with the local ports once connected and runs
// until SIGINT/SIGTERM (then exits 0, so `--cpu-prof` gets written).
import fs from 'node:fs'

import {TunnelListeners, WebSocketLink} from '../src/tunnel/index.js'

const need = (name: string): string => {
  const value = process.env[name]
  if (!value) throw new Error(`${name} is not set`)
  return value
}

async function main(): Promise<void> {
  const targets = need('UKC_BENCH_TARGETS').split(',')
  const log = (line: string): void => void process.stderr.write(`tunnel-alone client: ${line}\n`)
  const listeners = new TunnelListeners({forwards: targets.map((target) => ({bind: '127.0.0.1', localPort: 0, label: target})), log})
  const link = new WebSocketLink({
    targets,
    endpoint: {url: need('UKC_BENCH_RELAY_URL'), connectHost: need('UKC_BENCH_CONNECT_HOST'), ca: fs.readFileSync(need('UKC_BENCH_CA_FILE'), 'utf8'), token: need('UKC_BENCH_TOKEN')},
    heartbeatMs: 10_000,
    log,
  })
  listeners.use(link)
  const forwards = await listeners.listen()
  await link.connect({deadlineMs: 20_000})
  process.stdout.write(`${JSON.stringify({ports: forwards.map((f) => f.port)})}\n`)
  const stop = (): void => {
    link.close()
    void listeners.close().then(() => process.exit(0))
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

main().catch((error: Error) => {
  process.stderr.write(`tunnel-alone client: ${error.message}\n`)
  process.exit(1)
})
