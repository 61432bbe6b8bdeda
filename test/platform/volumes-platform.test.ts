// Directory-backed volumes inside a whole platform (runPlatform in this process, as a platform
// without root or without mkfs.ext4 stores them): the platform checks the size itself and stops an
// instance that keeps writing past it, saying why in its log.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, before, describe, it} from 'node:test'

import {UkcClient, createInstance, createVolume, getInstances, getVolumes} from '../../src/api/index.js'
import {runPlatform, type RunningPlatform} from '../../src/platform/index.js'
import {StopReason} from '../../src/platform/runtime/index.js'
import {until} from './runtime-fixture.js'

/** Appends 128 KiB to `${VOLUME:/data}/grow` every few milliseconds, forever; serves nothing useful. */
const GROWER = `
const fs = require('node:fs'), http = require('node:http')
const file = process.argv[1] + '/grow'
http.createServer((req, res) => res.end('growing')).listen(Number(process.env.PORT), process.env.UKC_LISTEN_HOST)
setInterval(() => fs.appendFileSync(file, Buffer.alloc(131072, 1)), 10)
`

describe('directory volumes in the platform', () => {
  let dir: string
  let platform: RunningPlatform
  let client: UkcClient

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-volumes-platform-'))
    fs.writeFileSync(path.join(dir, 'images.json'), JSON.stringify({'grower:latest': {command: [process.execPath, '-e', GROWER, '${VOLUME:/data}'], port: 7801}}))
    platform = await runPlatform({dataDir: dir, apiPort: 0, gatewayPort: 0, users: ['alice'], log: () => {}, volumeBackend: 'directory'})
    client = new UkcClient({baseUrl: platform.info.url, token: platform.info.users[0].token, ca: fs.readFileSync(platform.info.ca, 'utf8')})
  })
  after(async () => {
    await platform.close()
    fs.rmSync(dir, {recursive: true, force: true})
  })

  it('stops an instance that writes past its volume’s size, for good, with the reason in its log', async () => {
    assert.equal(platform.volumes.backend, 'directory')
    assert.equal((await createVolume(client, {name: 'small', size_mb: 1})).items[0].status, 'success')
    const created = await createInstance(client, {image: 'grower', name: 'grower', autostart: true, restart_policy: 'always', volumes: [{name: 'small', at: '/data'}]})
    const uuid = String(created.items[0].uuid)
    await until('the grower stopped by the platform', () => platform.store.instance(uuid)?.state === 'stopped', 60_000)

    const [instance] = (await getInstances(client, ['grower'])).items
    assert.equal(instance.stop_reason, StopReason.platformStop)
    assert.equal(platform.store.instance(uuid)?.desired, 'stopped', 'not brought back by its restart policy or a platform restart')
    const log = platform.runtime.logs(uuid, -4096, 4096).output.toString()
    assert.match(log, /ukc: volume small at \/data: the volume holds [\d.]+ MiB, more than its 1 MiB, and grew since the last check; the instance is stopped/)
    const [volume] = (await getVolumes(client, ['small'])).items
    assert.equal(volume.state, 'idle')
  })
})
