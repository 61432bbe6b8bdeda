// Build step (after tsc): the CLI as esbuild bundles, so `ukc` reads a handful of files at start-up
// instead of ~200 (@oclif/core and semver alone are ~110 files; module loading dominated start-up).
//
//   dist/oclif.js             @oclif/core as the CLI uses it (OCLIF_API; bin/run.js calls its
//                             execute, and the commands extend its Command: one copy)
//   dist/commands/**.js       one entry per command, where oclif's pattern discovery and the
//                             manifest (`oclif manifest`, run after this step) expect them
//   dist/cli/command-not-found.js   the hook package.json names
//   dist/chunks/*.js          code shared between them, and every dynamic import() as its own chunk
//
// These overwrite tsc's files of the same names; the rest of dist (the daemon, the library) stays
// tsc's. Our own code is bundled whole, so there is one copy of each class (`instanceof UkcError`
// holds); heavy packages stay external and are loaded by Node from node_modules when a command's
// dynamic import() asks (LAZY_PACKAGES). Chunks sit one level below dist, like dist/local, so code
// that finds its siblings through import.meta.url (local/control.ts → ../platform) still finds them.
import fs from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import * as esbuild from 'esbuild'

/** Loaded only by the commands that need them (never on the way to `instance list`): kept external. */
export const LAZY_PACKAGES = ['ws', 'undici', 'yaml', '@inquirer/prompts', 'conf', '@peculiar/x509', 'reflect-metadata', 'https-proxy-agent', 'chalk']

/**
 * Never bundled: typescript (only oclif's development mode imports it; bundling it adds 8.9 MB),
 * esbuild and tsx (development tools the platform reaches for in a checkout), ws's native addons.
 */
const TOOLS = ['typescript', 'esbuild', 'tsx', 'bufferutil', 'utf-8-validate']

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

function commandSources(dir: string): string[] {
  return fs.readdirSync(dir, {withFileTypes: true}).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return commandSources(full)
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : []
  })
}

/**
 * What the CLI takes from @oclif/core, through the package's own subpath exports. Its index would
 * also evaluate what nothing here uses (a Node version check that loads all of semver, ~46 modules,
 * and cannot work in a bundle anyway), so the bundle resolves '@oclif/core' to this instead. A name
 * missing here fails the build ("No matching export"): add it from the subpath that exports it.
 */
const OCLIF_API = [
  "export * as Args from '@oclif/core/args'",
  "export {Command} from '@oclif/core/command'",
  "export * as Errors from '@oclif/core/errors'",
  "export {execute} from '@oclif/core/execute'",
  "export * as Flags from '@oclif/core/flags'",
].join('\n')

const oclifApi: esbuild.Plugin = {
  name: 'oclif-api',
  setup(build) {
    build.onResolve({filter: /^@oclif\/core$/}, () => ({path: 'oclif-api', namespace: 'oclif-api'}))
    build.onLoad({filter: /.*/, namespace: 'oclif-api'}, () => ({contents: OCLIF_API, resolveDir: build.initialOptions.absWorkingDir, loader: 'js'}))
  },
}

/** esbuild's options for the CLI bundle of the project at `root`, written to `<root>/dist`. */
export function cliBuildOptions(root = ROOT): esbuild.BuildOptions & {metafile: true} {
  const commands = commandSources(path.join(root, 'src', 'commands')).map((file) => {
    const relative = path.relative(path.join(root, 'src'), file)
    return {in: relative, out: relative.replace(/\.ts$/, '')}
  })
  return {
    absWorkingDir: root,
    entryPoints: [{in: '@oclif/core', out: 'oclif'}, {in: path.join('src', 'cli', 'command-not-found.ts'), out: path.join('cli', 'command-not-found')}, ...commands.map((c) => ({in: path.join('src', c.in), out: c.out}))],
    outdir: 'dist',
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    minify: true,
    // Function names stay, so a DEBUG=1 stack trace still says where it was.
    keepNames: true,
    // Bundled CommonJS (@oclif/core, cli-table3, …) requires Node's modules: give every file a `require`.
    banner: {js: "import {createRequire as __ukcCreateRequire} from 'node:module'; const require = __ukcCreateRequire(import.meta.url);"},
    external: [...TOOLS, ...LAZY_PACKAGES],
    plugins: [oclifApi],
    metafile: true,
    logLevel: 'warning',
  }
}

/** Writes the bundles over tsc's output; returns the metafile (what each output holds and imports). */
export async function bundleCli(root = ROOT): Promise<esbuild.Metafile> {
  const result = await esbuild.build(cliBuildOptions(root))
  return result.metafile
}

/**
 * What loading output `entry` (e.g. `dist/commands/instance/list.js`) evaluates before any dynamic
 * import(): its inputs (source files) and the external packages it imports, following static imports.
 */
export function eagerClosure(metafile: esbuild.Metafile, entry: string): {inputs: string[]; externals: string[]} {
  const seen = new Set<string>()
  const externals = new Set<string>()
  const visit = (output: string): void => {
    if (seen.has(output)) return
    seen.add(output)
    for (const imported of metafile.outputs[output]?.imports ?? []) {
      if (imported.kind !== 'import-statement') continue
      if (imported.external) externals.add(imported.path)
      else visit(imported.path)
    }
  }
  if (!metafile.outputs[entry]) throw new Error(`no output ${entry} in the bundle`)
  visit(entry)
  const inputs = [...seen].flatMap((output) => Object.keys(metafile.outputs[output]?.inputs ?? {}))
  return {inputs: [...new Set(inputs)].sort(), externals: [...externals].sort()}
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await bundleCli()
}
