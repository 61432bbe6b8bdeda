// The daemon's entry point (`node dist/platform/main.js` / `node --import tsx src/platform/main.ts`):
// flags → runPlatform; SIGTERM/SIGINT stop it gracefully. Started detached by control.ts, or in the
// foreground by `ukc local start --foreground`.
import {parseArgs} from 'node:util'

import {AlreadyRunning} from './daemon-lock.js'
import {runPlatform} from './daemon.js'
import {parsePort} from '../api/ports.js'
import {START_FAILURE} from '../local/control.js'
import {localDir} from '../local/info.js'

function port(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined
  const n = parsePort(value, {allowZero: true})
  if (n === undefined) throw new Error(`--${flag} must be a port number (0 = a free port)`)
  return n
}

const {values} = parseArgs({
  options: {
    'data-dir': {type: 'string'},
    'api-port': {type: 'string'},
    'gateway-port': {type: 'string'},
    'http-port': {type: 'string'},
    user: {type: 'string', multiple: true},
  },
})

try {
  const platform = await runPlatform({
    dataDir: values['data-dir'] ?? localDir(),
    apiPort: port(values['api-port'], 'api-port'),
    gatewayPort: port(values['gateway-port'], 'gateway-port'),
    httpPort: port(values['http-port'], 'http-port'),
    users: values.user,
  })
  const stop = () => {
    platform.close().then(
      () => process.exit(0),
      (error: Error) => {
        process.stderr.write(`platform stop failed: ${error.stack ?? error.message}\n`)
        process.exit(1)
      },
    )
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
} catch (error) {
  process.stderr.write(`${new Date().toISOString()} ${START_FAILURE}${(error as Error).message.replaceAll('\n', ' ')}\n`)
  process.exit(error instanceof AlreadyRunning ? 3 : 1)
}
