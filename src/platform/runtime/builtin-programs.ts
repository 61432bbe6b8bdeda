// Where an instance gets its built-in image program: one bundled file (program-bundle.ts) that the
// platform installs into `<dataDir>/programs/` (its own 0755 directory, 0644 files) and runs from
// there, never from the project's directory, which the instance user may not be allowed to read
// (a clone in /root, a `mktemp -d`). The file comes from the build (dist/images), or, in a
// development checkout whose sources are newer than that build, from bundling them on the fly.
import fs from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {writeFileDurablySync} from '../store/durable-file.js'
import {LaunchError} from './launch.js'
import {
  BUNDLE_DIR,
  BUNDLE_MANIFEST,
  bundleFileName,
  bundleProgram,
  entrySource,
  type BundleManifest,
  type ProgramBundle,
  type ProgramName,
} from './program-bundle.js'

export const PROGRAMS_DIR = 'programs'

let root: string | undefined

/** The project root (the directory with this package's package.json). */
export function projectRoot(): string {
  if (root) return root
  let dir = path.dirname(fileURLToPath(import.meta.url))
  while (!fs.existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir)
  return (root = dir)
}

export class BuiltinPrograms {

  /**
   * @param installDir the platform's programs directory
   * @param root the project whose programs are installed (its dist/images, or its src in a checkout)
   */
  constructor(
    private readonly installDir: string,
    private readonly root = projectRoot(),
  ) {}

  /** Installs program `name` (when missing or different) and returns the installed file. */
  async install(name: ProgramName, image: string): Promise<string> {
    const code = await this.code(name, image)
    fs.mkdirSync(this.installDir, {recursive: true})
    fs.chmodSync(this.installDir, 0o755)
    const file = path.join(this.installDir, bundleFileName(name))
    if (!sameContent(file, code)) {
      writeFileDurablySync(file, code, 0o644)
    }
    return file
  }

  /** The built bundle, else the program's source (for the image list's sizes); undefined if neither. */
  sourceFile(name: ProgramName): string | undefined {
    return [path.join(this.root, BUNDLE_DIR, bundleFileName(name)), entrySource(this.root, name)].find((file) => fs.existsSync(file))
  }

  private async code(name: ProgramName, image: string): Promise<Uint8Array> {
    const built = path.join(this.root, BUNDLE_DIR, bundleFileName(name))
    if (!fs.existsSync(entrySource(this.root, name))) {
      // An installed package: dist/ only.
      if (!fs.existsSync(built)) throw new LaunchError(`image ${image} is not available in this build: ${built} is missing (npm run build makes it)`)
      return fs.readFileSync(built)
    }
    const inputs = readManifest(path.join(this.root, BUNDLE_DIR, BUNDLE_MANIFEST))[name]?.inputs
    if (fs.existsSync(built) && fresh(this.root, inputs, mtime(built))) return fs.readFileSync(built)
    return bundleOnTheFly(this.root, name, image)
  }
}

/** Bundles made in this process, reused while none of their inputs changed. */
const onTheFly = new Map<string, {bundle: Promise<ProgramBundle>; startedAt: number}>()

async function bundleOnTheFly(root: string, name: ProgramName, image: string): Promise<Uint8Array> {
  const key = `${root}\0${name}`
  let entry = onTheFly.get(key)
  if (entry && !fresh(root, (await entry.bundle.catch(() => undefined))?.inputs, entry.startedAt)) entry = undefined
  if (!entry) {
    entry = {bundle: bundleProgram(root, name), startedAt: Date.now()}
    onTheFly.set(key, entry)
  }
  try {
    return (await entry.bundle).code
  } catch (error) {
    if (onTheFly.get(key) === entry) onTheFly.delete(key)
    throw new LaunchError(`image ${image}: cannot bundle its program ${path.relative(root, entrySource(root, name))}: ${(error as Error).message.split('\n')[0]}`)
  }
}

/** No input changed (or disappeared) since `builtAt`. */
function fresh(root: string, inputs: string[] | undefined, builtAt: number): boolean {
  if (!inputs || inputs.length === 0) return false
  return inputs.every((input) => {
    try {
      return fs.statSync(path.join(root, input)).mtimeMs <= builtAt
    } catch {
      return false
    }
  })
}

function readManifest(file: string): BundleManifest {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as BundleManifest
  } catch {
    return {}
  }
}

function mtime(file: string): number {
  return fs.statSync(file).mtimeMs
}

function sameContent(file: string, code: Uint8Array): boolean {
  try {
    return Buffer.from(code).equals(fs.readFileSync(file))
  } catch {
    return false
  }
}
