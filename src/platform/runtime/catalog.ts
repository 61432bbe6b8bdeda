// The image catalog: built-in images (project modules), images backed by real servers (postgres:*
// from the host or npm, redis:* and nginx:* from the host), and user images registered in `<dataDir>/images.json`
// (reread on every resolve):
//   {"myapp:latest": {"command": ["/usr/bin/python3", "-m", "http.server", "${PORT}", "--bind", "${UKC_LISTEN_HOST}"],
//                     "port": 8000, "env": {"KEY": "value"}}}
// `${VAR}` in a command is replaced from the instance environment (PORT, UKC_LISTEN_HOST, ...), and
// `${VOLUME:/path}` by the host directory that stands for /path (volumes/guest-paths.ts).
import {createHash} from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'

import type {Image} from '../../api/types.js'
import {moveCookieToEnv} from '../../tunnel/legacy/protocol.js'
import {VOLIMPORT_PORT} from '../../volimport/protocol.js'
import {sealVolimportAuth} from '../images/volimport/config.js'
import {substituteVolumePaths} from '../volumes/index.js'
import type {BuiltinPrograms} from './builtin-programs.js'
import {findBinary} from './host-binaries.js'
import {LaunchError, type LaunchContext, type LaunchPlan} from './launch.js'
import type {ProgramName} from './program-bundle.js'
import {launchNginx, NGINX_PORT, nginxBinaries} from './servers/nginx.js'
import {launchPostgres, POSTGRES_PORT} from './servers/postgres.js'
import {PostgresServers} from './servers/postgres-servers.js'
import {launchRedis, REDIS_PORT, redisBinaries} from './servers/redis.js'

export const USER_IMAGES_FILE = 'images.json'
/** Where the platform installs servers it ships (the npm PostgreSQL), readable by instance users. */
export const SERVERS_DIR = 'servers'

export interface ResolvedImage {
  /** As requested, e.g. `hello` or `postgres:16`. */
  ref: string
  /** Canonical `name:tag`, e.g. `ukc/hello:latest`. */
  name: string
  /** `<name>@sha256:<hash of the definition>`, what the API reports as the instance's image. */
  digest: string
  ports: number[]
  kind: 'builtin' | 'host' | 'user'
  /** Environment defaults of the image (the instance's env overrides them). */
  env: Record<string, string>
  launch(context: LaunchContext): Promise<LaunchPlan>
}

interface Definition {
  name: string
  aliases: string[]
  /** Tags it answers to; `*` = any tag (host servers). */
  tags: string[] | '*'
  port: number
  kind: ResolvedImage['kind']
  /** What it runs, for the Image object's `args`. */
  args: string
  file(): string | undefined
  /** Throws a LaunchError when it cannot run here (missing binary). */
  check(ref: string): void
  launch(ref: string, context: LaunchContext): Promise<LaunchPlan>
  env?: Record<string, string>
}

/** A built-in image: its program (bundled, installed by the platform) run with this node binary. */
function builtin(
  programs: BuiltinPrograms,
  name: string,
  aliases: string[],
  program: ProgramName,
  port: number,
  stopSignal: NodeJS.Signals = 'SIGTERM',
): Definition {
  return {
    name,
    aliases,
    tags: ['latest'],
    port,
    kind: 'builtin',
    args: `node ${program}.mjs`,
    file: () => programs.sourceFile(program),
    check: () => {},
    launch: async (ref, context) => ({command: process.execPath, args: [await programs.install(program, ref), ...context.args], stopSignal}),
  }
}

/**
 * The emulated official relay: kraft's args carry its cookie, and /proc/<pid>/cmdline is readable by
 * every local user, so the process gets the cookie in its environment instead (readable by its own
 * uid only). The API keeps showing the args as sent. The environment goes through `context.env`, the
 * object this launch's process is spawned with (a launch plan has no env of its own).
 */
function cookieInEnvironment(definition: Definition): Definition {
  return {
    ...definition,
    launch: (ref, context) => {
      const {args, env} = moveCookieToEnv(context.args)
      Object.assign(context.env, env)
      return definition.launch(ref, {...context, args})
    },
  }
}

function hostServer(name: string, port: number, binary: string, check: (ref: string) => unknown, launch: Definition['launch']): Definition {
  return {name, aliases: [], tags: '*', port, kind: 'host', args: binary, file: () => findBinary(binary), check, launch}
}

function catalogOf(programs: BuiltinPrograms, postgres: PostgresServers): Definition[] {
  const volimport = builtin(programs, 'utils/volimport', [], 'utils-volimport', VOLIMPORT_PORT)
  return [
    builtin(programs, 'ukc/hello', ['hello'], 'hello', 8080),
    builtin(programs, 'ukc/echo', ['echo'], 'echo', 9000),
    builtin(programs, 'ukc/tunnel-relay', ['tunnel-relay'], 'tunnel-relay', 8080),
    // The official relay of `kraft cloud tunnel` (`official/utils/tunnel:1.0`, `:latest`; `official/` is
    // stripped below), emulated for `ukc tunnel`'s legacy mode. Its port is the default control port.
    cookieInEnvironment({...builtin(programs, 'utils/tunnel', [], 'utils-tunnel', 4443), tags: '*'}),
    // The import helper of `kraft cloud volume import` (`official/utils/volimport:*`), emulated for
    // `ukc volume import`; its launch keeps the auth out of argv (images/volimport/config.ts).
    {...volimport, tags: '*', launch: (ref, context) => volimport.launch(ref, sealVolimportAuth(context))},
    {
      ...hostServer('postgres', POSTGRES_PORT, 'postgres', (ref) => postgres.check(ref), (ref, context) =>
        launchPostgres(ref, context, (pgdata) => postgres.binaries(ref, splitRef(ref).tag, pgdata, context.console)),
      ),
      file: () => postgres.file(),
    },
    hostServer('redis', REDIS_PORT, 'redis-server', redisBinaries, launchRedis),
    hostServer('nginx', NGINX_PORT, 'nginx', nginxBinaries, launchNginx),
  ]
}

interface UserImageSpec {
  command: string[]
  port: number
  env?: Record<string, string>
}

function substitute(text: string, env: Record<string, string>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => env[name] ?? '')
}

function userDefinition(key: string, spec: UserImageSpec, file: string): Definition {
  const valid =
    Array.isArray(spec?.command) &&
    spec.command.length > 0 &&
    spec.command.every((part) => typeof part === 'string') &&
    Number.isInteger(spec.port) &&
    spec.port > 0 &&
    spec.port < 65_536
  if (!valid) {
    throw new LaunchError(`image ${key} in ${file} needs "command" (a non-empty array of strings) and "port" (1..65535)`)
  }
  const {name, tag} = splitRef(key)
  return {
    name,
    aliases: [],
    tags: [tag],
    port: spec.port,
    kind: 'user',
    args: spec.command.join(' '),
    env: spec.env,
    file: () => (spec.command[0].includes('/') ? spec.command[0] : findBinary(spec.command[0])),
    check: () => {},
    launch: async (_ref, context) => {
      const [command, ...args] = spec.command.map((part) => substitute(substituteVolumePaths(part, context.guestDir), context.env))
      return {command, args: [...args, ...context.args], stopSignal: 'SIGTERM'}
    },
  }
}

/**
 * `name[:tag][@digest]` → name and tag (default `latest`); drops registry prefixes users carry over
 * from kraft and docker (`index.unikraft.io/`, `unikraft.io/`, `official/`, `docker.io/library/`).
 */
function splitRef(ref: string): {name: string; tag: string} {
  let rest = ref.trim().replace(/@sha256:[0-9a-f]*$/i, '')
  rest = rest.replace(/^(index\.)?unikraft\.io\//, '').replace(/^official\//, '')
  rest = rest.replace(/^docker\.io\//, '').replace(/^library\//, '')
  const colon = rest.lastIndexOf(':')
  if (colon > rest.lastIndexOf('/')) return {name: rest.slice(0, colon).toLowerCase(), tag: rest.slice(colon + 1)}
  return {name: rest.toLowerCase(), tag: 'latest'}
}

function digestOf(definition: Definition): string {
  const {name, tags, port, kind, args, env} = definition
  const hash = createHash('sha256').update(JSON.stringify({name, tags, port, kind, args, env})).digest('hex')
  return `${name}@sha256:${hash}`
}

export class ImageCatalog {
  private readonly builtin: Definition[]

  constructor(
    private readonly dataDir: string,
    programs: BuiltinPrograms,
  ) {
    this.builtin = catalogOf(programs, new PostgresServers(path.join(dataDir, SERVERS_DIR)))
  }

  get userImagesFile(): string {
    return path.join(this.dataDir, USER_IMAGES_FILE)
  }

  /**
   * The image for `ref`; throws an Error with a user-facing message when there is none
   * (`no image with name: <ref>`) or when it cannot run on this machine (missing binary).
   */
  resolve(ref: string): ResolvedImage {
    const {name, tag} = splitRef(ref)
    const matches = (entry: Definition): boolean =>
      (entry.name === name || entry.aliases.includes(name)) && (entry.tags === '*' || entry.tags.includes(tag))
    // A broken images.json only matters for the images it would define.
    const definition = this.builtin.find(matches) ?? this.userDefinitions().find(matches)
    if (!definition) throw new LaunchError(`no image with name: ${ref}`)
    definition.check(ref)
    return {
      ref,
      name: `${definition.name}:${tag}`,
      digest: digestOf(definition),
      ports: [definition.port],
      kind: definition.kind,
      env: definition.env ?? {},
      launch: (context) => definition.launch(ref, context),
    }
  }

  /** The catalog as API Image objects (GET /images/list). */
  list(): Image[] {
    return this.definitions().map((definition) => {
      const tags = definition.tags === '*' ? ['latest'] : definition.tags
      const file = definition.file()
      let size = 0
      try {
        if (file) size = fs.statSync(file).size
      } catch {
        size = 0
      }
      let available = true
      try {
        definition.check(definition.name)
      } catch {
        available = false
      }
      return {
        digest: digestOf(definition),
        tags: [...tags.map((tag) => `${definition.name}:${tag}`), ...definition.aliases.map((alias) => `${alias}:latest`)],
        initrd: false,
        size_in_bytes: size,
        args: definition.args,
        kernel_args: '',
        labels: {
          'ukc.kind': definition.kind,
          'ukc.port': String(definition.port),
          'ukc.available': String(available && (definition.kind !== 'builtin' || file !== undefined)),
          ...(definition.tags === '*' ? {'ukc.tags': '*'} : {}),
        },
      }
    })
  }

  private definitions(): Definition[] {
    let user: Definition[] = []
    try {
      user = this.userDefinitions()
    } catch {
      user = [] // listed images stay available; resolving a user image reports the file's problem
    }
    return [...this.builtin, ...user]
  }

  private userDefinitions(): Definition[] {
    let text: string
    try {
      text = fs.readFileSync(this.userImagesFile, 'utf8')
    } catch {
      return []
    }
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch (error) {
      throw new LaunchError(`${this.userImagesFile} is not valid JSON: ${(error as Error).message}`)
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new LaunchError(`${this.userImagesFile} must be an object of "name:tag": {command, port}`)
    }
    return Object.entries(parsed as Record<string, UserImageSpec>).map(([key, spec]) => userDefinition(key, spec, this.userImagesFile))
  }
}
