// Build step (after tsc): the CLI as one esbuild bundle, so `ukc` reads a handful of files at start-up
// instead of ~200 (@oclif/core and semver alone were ~110; module loading dominated start-up).
//
//   dist/ukc.js         @oclif/core as the CLI uses it (OCLIF_API), every command and the
//                       command_not_found hook, in one module: bin/run.js calls its `execute`, and
//                       package.json points oclif's `explicit` command discovery at its `COMMANDS` and
//                       the hook at its `commandNotFound` (the same module, loaded once)
//   dist/chunks/*.js    each dynamic import() (the platform, the tunnel, …) as a chunk of its own
//   dist/ukc.meta.json  esbuild's metafile: which sources and packages each output holds
//
// The rest of dist (the daemon, the library) stays tsc's; bin/dev.js and the tests run the commands
// from src instead. Our own code is bundled whole, so there is one copy of each class
// (`instanceof UkcError` holds). Heavy packages stay external, loaded by Node from node_modules when a
// command's dynamic import() asks (LAZY_PACKAGES). Chunks sit one level below dist, like dist/local,
// so code that finds a sibling directory through import.meta.url (local/control.ts →
// ../platform/main.js) still finds it.
import fs from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import * as esbuild from 'esbuild'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** The bundle bin/run.js runs and package.json's oclif.commands.target names. */
export const CLI_BUNDLE = 'dist/ukc.js'

/** Loaded only by the commands that need them (never on the way to `instance list`): kept external. */
export const LAZY_PACKAGES = ['ws', 'undici', 'yaml', '@inquirer/prompts', 'conf', '@peculiar/x509', 'reflect-metadata', 'https-proxy-agent', 'chalk']

/**
 * Never bundled: typescript (only oclif's development mode imports it; bundling it adds 8.9 MB),
 * esbuild and tsx (development tools the platform reaches for in a checkout), ws's native addons.
 */
const TOOLS = ['typescript', 'esbuild', 'tsx', 'bufferutil', 'utf-8-validate']

/**
 * What the CLI takes from @oclif/core, through the package's own subpath exports. Its index would
 * also evaluate what nothing here uses (a Node version check that loads all of semver, 46 modules,
 * and cannot work in a bundle anyway), so the bundle resolves '@oclif/core' to this instead. A name
 * missing here fails the build ("No matching export"): add it from the subpath that exports it.
 */
const OCLIF_API = [
  "export * as Args from '@oclif/core/args'",
  "export {Command} from '@oclif/core/command'",
  "export * as Errors from '@oclif/core/errors'",
  "export {execute} from '@oclif/core/execute'",
  "export * as Flags from '@oclif/core/flags'",
]

function commandFiles(dir: string): string[] {
  return fs.readdirSync(dir, {withFileTypes: true}).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return commandFiles(full)
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : []
  })
}

/**
 * `{id: file}` for src/commands, with the ids oclif's pattern discovery gives the same tree (what
 * bin/dev.js and the tests run): `instance/list.ts` → `instance:list`, `x/index.ts` → `x`.
 */
export function commandIds(root = ROOT): Record<string, string> {
  const dir = path.join(root, 'src', 'commands')
  const entries = commandFiles(dir).map((file) => {
    const id = path.relative(dir, file).replace(/\.ts$/, '').split(path.sep).filter((part, i, all) => !(part === 'index' && i === all.length - 1)).join(':')
    return [id, path.relative(root, file)] as const
  })
  return Object.fromEntries(entries.sort(([a], [b]) => a.localeCompare(b)))
}

/** The bundle's entry module: oclif's execute, `COMMANDS` (every command by its id) and the hook. */
function cliEntry(root: string): string {
  const ids = Object.entries(commandIds(root))
  const imports = ids.map(([, file], i) => `import command${i} from './${file.split(path.sep).join('/')}'`)
  const table = ids.map(([id], i) => `  ${JSON.stringify(id)}: command${i},`)
  return [
    ...imports,
    "export {execute} from '@oclif/core'",
    "export {default as commandNotFound} from './src/cli/command-not-found.ts'",
    `export const COMMANDS = {\n${table.join('\n')}\n}`,
  ].join('\n')
}

/** Virtual modules: the entry, and '@oclif/core' as OCLIF_API. */
function virtualModules(root: string): esbuild.Plugin {
  return {
    name: 'ukc-cli',
    setup(build) {
      build.onResolve({filter: /^@oclif\/core$/}, () => ({path: 'oclif-api', namespace: 'ukc-cli'}))
      build.onResolve({filter: /^ukc-cli-entry$/}, () => ({path: 'entry', namespace: 'ukc-cli'}))
      build.onLoad({filter: /^oclif-api$/, namespace: 'ukc-cli'}, () => ({contents: OCLIF_API.join('\n'), resolveDir: root, loader: 'js'}))
      build.onLoad({filter: /^entry$/, namespace: 'ukc-cli'}, () => ({contents: cliEntry(root), resolveDir: root, loader: 'ts'}))
    },
  }
}

/** esbuild's options for the CLI bundle of the project at `root`, written to `<root>/dist`. */
export function cliBuildOptions(root = ROOT): esbuild.BuildOptions & {metafile: true} {
  return {
    absWorkingDir: root,
    entryPoints: [{in: 'ukc-cli-entry', out: path.basename(CLI_BUNDLE, '.js')}],
    outdir: 'dist',
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    minify: true,
    // Function and class names stay, so a DEBUG=1 stack trace still says where it was.
    keepNames: true,
    // Bundled CommonJS (@oclif/core, cli-table3, …) requires Node's modules: give every file a `require`.
    banner: {js: "import {createRequire as __ukcCreateRequire} from 'node:module'; const require = __ukcCreateRequire(import.meta.url);"},
    external: [...TOOLS, ...LAZY_PACKAGES],
    plugins: [virtualModules(root)],
    metafile: true,
    logLevel: 'warning',
  }
}

/** Where the build leaves esbuild's metafile: what each output holds, read by the start-up test. */
export const CLI_METAFILE = 'dist/ukc.meta.json'

/** Writes the bundle (and its metafile) beside tsc's output; returns the metafile. */
export async function bundleCli(root = ROOT): Promise<esbuild.Metafile> {
  const result = await esbuild.build(cliBuildOptions(root))
  fs.writeFileSync(path.join(root, CLI_METAFILE), JSON.stringify(result.metafile))
  return result.metafile
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await bundleCli()
}
