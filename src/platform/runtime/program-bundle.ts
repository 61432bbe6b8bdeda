// Built-in image programs as single self-contained files: an entry module of this project and
// everything it imports (ws included) bundled by esbuild into one ESM file, so an instance runs
// `node <file>` with nothing else to read, wherever the project lives and whoever the instance runs
// as. `npm run build` writes them to dist/images with a manifest of their inputs
// (scripts/bundle-programs.mjs); a development checkout whose sources are newer bundles on the fly
// (builtin-programs.ts). esbuild is a development dependency: imported only when bundling.
import fs from 'node:fs'
import path from 'node:path'

/** Program name → its entry module (`src/<module>.ts`). */
export const BUILTIN_PROGRAMS = {
  hello: 'platform/images/hello/main',
  echo: 'platform/images/echo/main',
  'tunnel-relay': 'tunnel/relay/main',
  'utils-tunnel': 'tunnel/legacy/relay-main',
  'utils-volimport': 'platform/images/volimport/main',
} as const

export type ProgramName = keyof typeof BUILTIN_PROGRAMS

/** Where the build puts the bundles, relative to the project root. */
export const BUNDLE_DIR = path.join('dist', 'images')
/** `{<name>: {inputs: [...]}}` beside the bundles: what each was built from. */
export const BUNDLE_MANIFEST = 'manifest.json'

export type BundleManifest = Partial<Record<ProgramName, {inputs: string[]}>>

export interface ProgramBundle {
  code: Uint8Array
  /** The files it was built from, relative to the project root. */
  inputs: string[]
}

export function bundleFileName(name: ProgramName): string {
  return `${name}.mjs`
}

export function entrySource(root: string, name: ProgramName): string {
  return path.join(root, 'src', `${BUILTIN_PROGRAMS[name]}.ts`)
}

/** Bundles program `name` from the sources under `root`. */
export async function bundleProgram(root: string, name: ProgramName): Promise<ProgramBundle> {
  const esbuild = await import('esbuild')
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: [path.relative(root, entrySource(root, name))],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // CommonJS dependencies (ws) require Node's built-in modules: give the ESM file a `require`.
    banner: {js: "import {createRequire as __ukcCreateRequire} from 'node:module'; const require = __ukcCreateRequire(import.meta.url);"},
    // Native addons cannot be bundled; without them ws uses its JavaScript code.
    external: ['bufferutil', 'utf-8-validate'],
    write: false,
    metafile: true,
    logLevel: 'silent',
  })
  return {code: result.outputFiles[0].contents, inputs: Object.keys(result.metafile.inputs)}
}

/** The build step: every program into `outDir` (default `<root>/dist/images`), with the manifest. */
export async function writeProgramBundles(root: string, outDir = path.join(root, BUNDLE_DIR)): Promise<void> {
  fs.mkdirSync(outDir, {recursive: true})
  const manifest: BundleManifest = {}
  for (const name of Object.keys(BUILTIN_PROGRAMS) as ProgramName[]) {
    const bundle = await bundleProgram(root, name)
    fs.writeFileSync(path.join(outDir, bundleFileName(name)), bundle.code, {mode: 0o644})
    manifest[name] = {inputs: bundle.inputs}
  }
  fs.writeFileSync(path.join(outDir, BUNDLE_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`, {mode: 0o644})
}
