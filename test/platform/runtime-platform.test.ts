// The runtime inside a whole platform (runPlatform in this process), driven through the real HTTP API
// with the project's API client: what a user sees when an instance fails or crashes.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, before, describe, it} from 'node:test'

import {UkcClient, createInstance, getInstances, startInstances, waitInstances, type Instance} from '../../src/api/index.js'
import {runPlatform, type RunningPlatform} from '../../src/platform/index.js'
import {StopReason} from '../../src/platform/runtime/index.js'
import {until} from './runtime-fixture.js'

describe('runtime in the platform', () => {
  let dir: string
  let platform: RunningPlatform
  let client: UkcClient

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-runtime-platform-'))
    // An image that fails right after spawn, as redis does when it cannot open its dir.
    const failing = "process.stderr.write('Permission denied\\n'); process.exit(1)"
    fs.writeFileSync(
      path.join(dir, 'images.json'),
      JSON.stringify({'fails:latest': {command: [process.execPath, '-e', failing], port: 7800}}),
    )
    platform = await runPlatform({dataDir: dir, apiPort: 0, gatewayPort: 0, users: ['alice'], log: () => {}})
    client = new UkcClient({baseUrl: platform.info.url, token: platform.info.users[0].token, ca: fs.readFileSync(platform.info.ca, 'utf8')})
  })
  after(async () => {
    await platform.close()
    fs.rmSync(dir, {recursive: true, force: true})
  })

  async function get(name: string): Promise<Instance | undefined> {
    const result = await getInstances(client, [name])
    const item = result.items[0]
    return item.status === 'success' ? item : undefined
  }

  it('an instance whose process exits with 1 under restart policy never is stopped, and a waiting create/start says so', async () => {
    const created = await createInstance(client, {image: 'fails', name: 'fails-once', autostart: true, restart_policy: 'never'})
    assert.equal(created.items[0].status, 'success')
    const waited = await waitInstances(client, ['fails-once'], 'running', 20_000)
    assert.equal(waited.items[0].status, 'error', 'waiting for running reports the failure')
    assert.match(waited.items[0].message ?? '', /stopped.*exit code 1/)

    const instance = await get('fails-once')
    assert.equal(instance?.state, 'stopped')
    assert.equal(instance?.stop_reason, StopReason.appExit)
    assert.equal(instance?.exit_code, 1)

    const started = await startInstances(client, ['fails-once'], 20_000)
    assert.equal(started.items[0].status, 'error', 'a start that waits reports the failure')
    assert.match(started.items[0].message ?? '', /stopped.*exit code 1/)
    assert.equal((await get('fails-once'))?.state, 'stopped')
  })

  it('a crash under on-failure restarts a delete-on-stop instance and keeps it; a clean exit then deletes it', async () => {
    const created = await createInstance(client, {
      image: 'hello',
      name: 'relay-like',
      autostart: true,
      restart_policy: 'on-failure',
      features: ['delete-on-stop'],
    })
    assert.equal(created.items[0].status, 'success')
    assert.equal((await waitInstances(client, ['relay-like'], 'running', 20_000)).items[0].status, 'success')
    const uuid = created.items[0].uuid as string
    const firstPid = platform.store.instance(uuid)?.pid as number

    process.kill(firstPid, 'SIGKILL') // a crash: nobody on the platform sent it
    await until('the restart', () => {
      const record = platform.store.instance(uuid)
      return record === undefined || (record.start_count === 2 && record.state === 'running')
    }, 20_000)
    const restarted = await get('relay-like')
    assert.ok(restarted, 'the instance still exists after the crash')
    assert.equal(restarted.state, 'running')
    assert.equal(restarted.restart_count, 1)

    // The app exits by itself with code 0 (hello exits 0 on SIGTERM): no restart, stopped for good.
    process.kill(platform.store.instance(uuid)?.pid as number, 'SIGTERM')
    await until('delete-on-stop', () => platform.store.instance(uuid) === undefined, 20_000)
    assert.equal(await get('relay-like'), undefined)
  })
})
