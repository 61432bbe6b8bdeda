// Which PostgreSQL server runs a `postgres:*` instance: one installed on the host (a `postgres` on
// PATH, Debian's /usr/lib/postgresql/<major>/bin) or the one from npm (postgres-npm.ts). The rule:
//   1. a data directory that already holds a database (PG_VERSION) gets a server of that major, or a
//      clear error: a server of another major cannot open it;
//   2. a new database gets the major its tag names (`postgres:16`) when this machine has that one;
//   3. otherwise the first server found, host before npm.
// Host first: a server the machine's administrator installed gets the distribution's security
// updates (the npm build bundles its own OpenSSL 1.1.1 and ICU 60) and needs no copy; the npm one
// is what makes `postgres:*` work on a machine with only Node.
// UKC_POSTGRES=host or UKC_POSTGRES=npm in the platform's environment keeps to one source (tests and
// the demo use `npm` to run as a machine without a host install would); unset, both are used.
import {execFileSync} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

import {projectRoot} from '../builtin-programs.js'
import {findBinary, postgresInstallDirs} from '../host-binaries.js'
import {LaunchError} from '../launch.js'
import {findNpmPostgres, npmPostgresPackageName, NpmPostgresInstaller, type NpmPostgresPackage} from './postgres-npm.js'
import type {PostgresBinaries} from './postgres.js'

export type PostgresSource = 'host' | 'npm'

/** One server this machine can run; `major` is read only when a choice needs it. */
export interface PostgresServer {
  source: PostgresSource
  /** Its `postgres` binary (for the image list's size). */
  postgres: string
  major(): number | undefined
  /** Where it comes from, for the instance log and errors. */
  describe(): string
  binaries(): Promise<PostgresBinaries>
}

const APT_HINT = 'apt-get install postgresql'

/** The major of a host `postgres`: from Debian's path, else from `postgres --version` (cached per file). */
const hostMajors = new Map<string, number | undefined>()
function hostMajor(binary: string): number | undefined {
  const real = fs.realpathSync(binary)
  if (!hostMajors.has(real)) {
    const fromPath = /\/postgresql\/(\d+)\/bin\/postgres$/.exec(real)?.[1]
    let major = fromPath === undefined ? undefined : Number(fromPath)
    if (major === undefined) {
      try {
        const version = execFileSync(real, ['--version'], {encoding: 'utf8', timeout: 10_000})
        major = Number(/\(PostgreSQL\)\s+(\d+)/.exec(version)?.[1]) || undefined
      } catch {
        major = undefined
      }
    }
    hostMajors.set(real, major)
  }
  return hostMajors.get(real)
}

function hostServer(postgres: string): PostgresServer {
  const real = fs.realpathSync(postgres)
  return {
    source: 'host',
    postgres,
    major: () => hostMajor(postgres),
    describe: () => `PostgreSQL ${hostMajor(postgres) ?? '(unknown version)'} installed on the host (${path.dirname(real)})`,
    binaries: async () => {
      // initdb from the same installation as the server (versions must match).
      const initdb = findBinary('initdb', path.dirname(real))
      if (!initdb) throw new LaunchError(`the host's PostgreSQL in ${path.dirname(real)} has no "initdb" binary; install it with: ${APT_HINT}`)
      return {postgres, initdb}
    },
  }
}

function npmServer(pkg: NpmPostgresPackage, installer: NpmPostgresInstaller): PostgresServer {
  return {
    source: 'npm',
    postgres: path.join(pkg.nativeDir, 'bin', 'postgres'),
    major: () => pkg.major,
    describe: () => `PostgreSQL ${pkg.major} from the npm package ${pkg.name}@${pkg.version} (run from ${installer.dirOf(pkg.version)})`,
    binaries: () => installer.install(pkg),
  }
}

/** The major version of the database in `pgdata`, or undefined when it holds none yet. */
function databaseMajor(pgdata: string): number | undefined {
  try {
    return Number.parseInt(fs.readFileSync(path.join(pgdata, 'PG_VERSION'), 'utf8'), 10) || undefined
  } catch {
    return undefined
  }
}

/** Where servers are looked for (tests give their own). */
export interface PostgresFinders {
  host(): PostgresServer[]
  npm(): NpmPostgresPackage | undefined
}

export class PostgresServers {
  private readonly installer: NpmPostgresInstaller

  /**
   * @param serversDir the platform's directory for servers it installs (`<dataDir>/servers`)
   * @param only UKC_POSTGRES: `host`, `npm`, or empty for both
   */
  constructor(
    serversDir: string,
    private readonly only = process.env.UKC_POSTGRES ?? '',
    private readonly find: PostgresFinders = {host: hostServers, npm: findNpmPostgres},
  ) {
    this.installer = new NpmPostgresInstaller(serversDir)
  }

  /** Throws the LaunchError that says what to install when this machine has no server for `image`. */
  check(image: string): void {
    this.servers(image)
  }

  /** The `postgres` binary a new database without a version tag would get (for the image list). */
  file(): string | undefined {
    try {
      return this.servers('postgres')[0]?.postgres
    } catch {
      return undefined
    }
  }

  /**
   * The server for `image` (tag `tag`) with its data directory `pgdata`, installed where instance
   * users can run it; says in the instance log which one it is.
   */
  async binaries(image: string, tag: string, pgdata: string, log: (text: string) => void): Promise<PostgresBinaries> {
    const servers = this.servers(image)
    const existing = databaseMajor(pgdata)
    let server: PostgresServer | undefined
    if (existing !== undefined) {
      server = servers.find((candidate) => candidate.major() === existing)
      if (!server) {
        const found = servers.map((candidate) => `${candidate.major() ?? '?'} (${candidate.source})`).join(', ')
        const unset = this.only ? `, or unset UKC_POSTGRES=${this.only}` : ''
        throw new LaunchError(
          `the database in ${pgdata} was made by PostgreSQL ${existing}, and this machine has no PostgreSQL ${existing} server (it has ${found}); install it with: apt-get install postgresql-${existing}${unset}`,
        )
      }
    } else {
      const wanted = Number.parseInt(tag, 10)
      server = (Number.isInteger(wanted) ? servers.find((candidate) => candidate.major() === wanted) : undefined) ?? servers[0]
      if (Number.isInteger(wanted) && server.major() !== wanted) log(`ukc: ${image} asks for PostgreSQL ${wanted}, which this machine does not have\n`)
    }
    log(`ukc: ${server.describe()}\n`)
    return server.binaries()
  }

  /** The servers this machine has, in order of preference; a LaunchError when there is none. */
  private servers(image: string): PostgresServer[] {
    if (this.only !== '' && this.only !== 'host' && this.only !== 'npm') {
      throw new LaunchError(`UKC_POSTGRES must be "host" or "npm" (or unset for both), not "${this.only}"; set it where the platform starts (ukc local start)`)
    }
    const servers: PostgresServer[] = []
    if (this.only !== 'npm') servers.push(...this.find.host())
    const pkg = this.only === 'host' ? undefined : this.find.npm()
    if (pkg) servers.push(npmServer(pkg, this.installer))
    if (servers.length === 0) throw new LaunchError(this.nothingFound(image))
    return servers
  }

  private nothingFound(image: string): string {
    const name = npmPostgresPackageName()
    const npm = name
      ? `the optional npm package ${name} is not installed (run npm install in ${projectRoot()})`
      : `npm has no PostgreSQL package for ${process.platform}-${process.arch}`
    if (this.only === 'host') return `image ${image} needs PostgreSQL installed on the host (UKC_POSTGRES=host), and it is not; install it with: ${APT_HINT}`
    if (this.only === 'npm') return `image ${image} needs the npm PostgreSQL server (UKC_POSTGRES=npm), but ${npm}`
    return `image ${image} needs a PostgreSQL server, and this machine has none: ${npm}, or install one with: ${APT_HINT}`
  }
}

/** The host's servers: the `postgres` found first (PATH, system dirs), then each Debian major not yet listed. */
function hostServers(): PostgresServer[] {
  const binaries = [findBinary('postgres'), ...postgresInstallDirs().map((dir) => path.join(dir, 'postgres'))]
  const seen = new Set<string>()
  const servers: PostgresServer[] = []
  for (const binary of binaries) {
    if (!binary) continue
    let real: string
    try {
      fs.accessSync(binary, fs.constants.X_OK)
      real = fs.realpathSync(binary)
    } catch {
      continue
    }
    if (seen.has(real)) continue
    seen.add(real)
    servers.push(hostServer(binary))
  }
  return servers
}
