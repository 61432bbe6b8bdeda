// The one interrupt policy of long-running commands: first Ctrl-C/SIGTERM = graceful stop through the
// signal; a second = exit 130 after the clean-ups; handlers and stdin released afterwards.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {runUntilStopped} from '../../src/cli/index.js'

describe('runUntilStopped', () => {
  it('aborts the work on the first SIGTERM and returns its result; handlers are released', async () => {
    const before = process.listenerCount('SIGTERM')
    const result = await runUntilStopped(
      async ({signal}) => {
        setImmediate(() => process.emit('SIGTERM'))
        await new Promise((resolve) => signal.addEventListener('abort', resolve, {once: true}))
        return `stopped by ${String(signal.reason)}`
      },
      {log: () => undefined},
    )
    assert.equal(result, 'stopped by SIGTERM')
    assert.equal(process.listenerCount('SIGTERM'), before)
    assert.equal(process.listenerCount('SIGINT'), 0)
  })

  it('a second Ctrl-C runs the clean-ups, then exits 130 while the work is still stopping', async () => {
    const lines: string[] = []
    const events: string[] = []
    let exited!: (code: number) => void
    const exitCode = new Promise<number>((resolve) => (exited = resolve))
    const work = runUntilStopped(
      async ({signal, onForcedExit}) => {
        onForcedExit(async () => {
          events.push('cleanup')
        })
        process.emit('SIGINT')
        assert.equal(signal.aborted, true)
        process.emit('SIGINT') // the user presses Ctrl-C again while we stop slowly
        const code = await exitCode
        events.push(`exit ${code}`)
      },
      {log: (line) => lines.push(line), exit: (code) => exited(code)},
    )
    await work
    assert.deepEqual(events, ['cleanup', 'exit 130'])
    assert.deepEqual(lines, ['SIGINT again: exiting now'])
  })
})
