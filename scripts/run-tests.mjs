#!/usr/bin/env node
// Runs every test/**/*.test.ts through Node's built-in runner with tsx (Node 20's --test has no globs).
// Unit tests run in parallel; end-to-end suites (test/e2e, test/tunnel/e2e*) run one file at a time
// because each starts its own platform with real processes.
import {spawnSync} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

const only = process.argv.slice(2)
function walk(dir) {
  if (!fs.existsSync(dir)) return []
  return fs.readdirSync(dir, {withFileTypes: true}).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    return entry.isDirectory() ? walk(full) : entry.name.endsWith('.test.ts') ? [full] : []
  })
}
const files = walk('test').sort().filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
const isE2e = (f) => f.split(path.sep).includes('e2e') || path.basename(f).startsWith('e2e')
const unit = files.filter((f) => !isE2e(f))
const e2e = files.filter(isE2e)

let failed = false
const run = (list, concurrency) => {
  if (list.length === 0) return
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-timeout=600000', ...list],
    {stdio: 'inherit', env: {...process.env, NODE_ENV: 'test', FORCE_COLOR: '0'}},
  )
  if (result.status !== 0) failed = true
}
run(unit, 2)
run(e2e, 1)
process.exit(failed ? 1 : 0)
