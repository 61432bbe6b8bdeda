// The import rules of docs/architecture.md, checked on the sources: the CLI and the tunnel never load
// the embedded platform (they reach it through src/local), the tunnel never imports the CLI, and the
// tunnel's modules import each other without a circle.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import {describe, it} from 'node:test'

const SRC = path.resolve(import.meta.dirname, '../../src')

function sourcesUnder(dir: string): string[] {
  return fs.readdirSync(dir, {withFileTypes: true}).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    return entry.isDirectory() ? sourcesUnder(full) : entry.name.endsWith('.ts') ? [full] : []
  })
}

/** The project files a source imports (static and dynamic, type-only included), as absolute .ts paths. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8')
  const specifiers = [...text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)'(\.{1,2}\/[^']+)'/g)].map((m) => m[1] as string)
  return specifiers.map((s) => path.resolve(path.dirname(file), s).replace(/\.js$/, '.ts'))
}

const area = (file: string): string => path.relative(SRC, file).split(path.sep)[0] as string

describe('import rules (docs/architecture.md)', () => {
  const files = sourcesUnder(SRC)

  for (const [from, forbidden] of [
    ['cli', ['platform', 'commands']],
    ['tunnel', ['platform', 'cli', 'commands']],
    ['api', ['platform', 'cli', 'commands', 'tunnel']],
    ['local', ['platform', 'cli', 'commands', 'tunnel']],
  ] as const) {
    it(`src/${from} imports nothing from ${forbidden.map((f) => `src/${f}`).join(', ')}`, () => {
      const offending = files
        .filter((f) => area(f) === from)
        .flatMap((f) => importsOf(f).filter((i) => (forbidden as readonly string[]).includes(area(i))).map((i) => `${path.relative(SRC, f)} → ${path.relative(SRC, i)}`))
      assert.deepEqual(offending, [])
    })
  }

  it('src/tunnel has no import circle', () => {
    const tunnel = new Set(files.filter((f) => area(f) === 'tunnel'))
    const edges = new Map([...tunnel].map((f) => [f, importsOf(f).filter((i) => tunnel.has(i))]))
    const done = new Set<string>()
    const onPath: string[] = []
    const circles: string[] = []
    const visit = (file: string): void => {
      if (done.has(file)) return
      const at = onPath.indexOf(file)
      if (at >= 0) {
        circles.push([...onPath.slice(at), file].map((f) => path.relative(SRC, f)).join(' → '))
        return
      }
      onPath.push(file)
      for (const next of edges.get(file) ?? []) visit(next)
      onPath.pop()
      done.add(file)
    }
    for (const file of tunnel) visit(file)
    assert.deepEqual(circles, [])
  })
})
