// The console log keeps the newest bytes within its bound, with absolute offsets.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, describe, it} from 'node:test'

import {ConsoleLog} from '../../src/platform/runtime/console-log.js'

describe('console log', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-console-'))
  after(() => fs.rmSync(dir, {recursive: true, force: true}))

  it('drops the oldest bytes past its bound and keeps offsets absolute, also after reopening', () => {
    const log = new ConsoleLog(dir, 100)
    let written = ''
    for (let i = 0; i < 50; i++) {
      const line = `line ${String(i).padStart(2, '0')}\n` // 8 bytes
      log.append(line)
      written += line
    }
    const window = log.read(-8, 0)
    assert.equal(window.output.toString(), 'line 49\n')
    assert.equal(window.available.end, written.length)
    assert.ok(window.available.start > 0, 'old output was dropped')
    assert.ok(window.available.end - window.available.start <= 125, 'bounded')
    const oldest = log.read(0, 8)
    assert.equal(oldest.range.start, window.available.start, 'an offset before the start is clamped')
    assert.equal(oldest.output.toString(), written.slice(oldest.range.start, oldest.range.start + 8))
    log.close()

    const reopened = new ConsoleLog(dir, 100)
    assert.deepEqual(reopened.read(-8, 0).available, window.available)
    reopened.append('more\n')
    assert.equal(reopened.read(window.available.end, 0).output.toString(), 'more\n')
    reopened.close()
  })

  it('answers an empty window for a log that has nothing yet', () => {
    const empty = fs.mkdtempSync(path.join(dir, 'empty-'))
    const log = new ConsoleLog(empty)
    assert.deepEqual(log.read(-100, 10), {output: Buffer.alloc(0), range: {start: 0, end: 0}, available: {start: 0, end: 0}})
  })
})
