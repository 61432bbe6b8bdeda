// Finding host server binaries (postgres, redis-server, nginx) and saying how to get a missing one.
import fs from 'node:fs'
import path from 'node:path'

import {LaunchError} from './launch.js'

const EXTRA_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']

/** Debian's PostgreSQL installations, `/usr/lib/postgresql/<major>/bin`, newest major first. */
export function postgresInstallDirs(): string[] {
  try {
    return fs
      .readdirSync('/usr/lib/postgresql')
      .sort((a, b) => Number(b) - Number(a)) // newest major version first
      .map((version) => path.join('/usr/lib/postgresql', version, 'bin'))
  } catch {
    return []
  }
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK)
    return fs.statSync(file).isFile()
  } catch {
    return false
  }
}

/** Where `name` is: PATH, the usual system dirs, then /usr/lib/postgresql/<version>/bin. */
export function findBinary(name: string, preferDir?: string): string | undefined {
  const dirs = [
    ...(preferDir ? [preferDir] : []),
    ...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean),
    ...EXTRA_DIRS,
    ...postgresInstallDirs(),
  ]
  for (const dir of dirs) {
    const file = path.join(dir, name)
    if (isExecutable(file)) return file
  }
  return undefined
}

/** `findBinary` or a LaunchError naming the binary and the package that provides it. */
export function requireBinary(name: string, aptPackage: string, image: string, preferDir?: string): string {
  const found = findBinary(name, preferDir)
  if (found) return found
  throw new LaunchError(
    `image ${image} needs the "${name}" binary, which is not installed on this machine; install it with: apt-get install ${aptPackage}`,
  )
}
