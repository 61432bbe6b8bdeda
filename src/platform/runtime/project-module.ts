// Built-in images are modules of this project: `dist/<module>.js` with node when built (and not
// older than its source), else `src/<module>.ts` with node and the tsx loader (development checkout).
import fs from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {LaunchError} from './launch.js'

let root: string | undefined

/** The project root (the directory with this package's package.json). */
export function projectRoot(): string {
  if (root) return root
  let dir = path.dirname(fileURLToPath(import.meta.url))
  while (!fs.existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir)
  return (root = dir)
}

export interface ModuleCommand {
  command: string
  args: string[]
  file: string
}

/** How to run project module `module` (e.g. `platform/images/hello/main`). */
export function moduleCommand(module: string, image: string): ModuleCommand {
  const built = path.join(projectRoot(), 'dist', `${module}.js`)
  const source = path.join(projectRoot(), 'src', `${module}.ts`)
  // A build older than the source (a development checkout edited since `npm run build`) would run
  // yesterday's program: then the source wins.
  if (fs.existsSync(built) && !(fs.existsSync(source) && mtime(source) > mtime(built))) {
    return {command: process.execPath, args: [built], file: built}
  }
  if (fs.existsSync(source)) {
    const loader = import.meta.resolve('tsx')
    return {command: process.execPath, args: ['--import', loader, source], file: source}
  }
  throw new LaunchError(`image ${image} is not available in this build: its program ${module} (src/${module}.ts) does not exist yet`)
}

/** The module's file, if present (for the catalog's sizes). */
export function moduleFile(module: string): string | undefined {
  for (const file of [path.join(projectRoot(), 'dist', `${module}.js`), path.join(projectRoot(), 'src', `${module}.ts`)]) {
    if (fs.existsSync(file)) return file
  }
  return undefined
}

function mtime(file: string): number {
  return fs.statSync(file).mtimeMs
}
