// Entry point of the emulated `official/utils/volimport` image (kraft's `volume import` helper):
// kraft's args (-p PORT -a AUTH -t SECONDS; the platform moves the auth into the environment, see
// config.ts), the volume at `/` from UKC_VOLUME_ROOT. Exits 0 once an import completed, 1 when it
// failed or nothing came for -t seconds, 2 on bad args — and delete-on-stop removes the instance.
import {readServerConfig} from './config.js'
import {VolimportServer} from './server.js'

function log(line: string): void {
  process.stdout.write(`${new Date().toISOString()} volimport: ${line}\n`)
}

let config
try {
  config = readServerConfig(process.argv.slice(2), process.env)
} catch (error) {
  process.stderr.write(`volimport: ${(error as Error).message}\n`)
  process.exit(2)
}

const server = new VolimportServer(config, log)
const exit = (code: number): void => {
  server.close().then(
    () => process.exit(code),
    () => process.exit(code),
  )
}
server.once('finished', (code, why) => {
  log(why)
  exit(code)
})
process.on('SIGTERM', () => exit(0))
process.on('SIGINT', () => exit(0))
server.listen().then(
  (ports) => log(`listening on ${config.host} port ${ports.join(', ')}; importing into the volume at /`),
  (error: Error) => {
    process.stderr.write(`volimport: cannot listen: ${error.message}\n`)
    process.exit(1)
  },
)
