import assert from 'node:assert/strict'
import {afterEach, describe, it} from 'node:test'

import {TARGET, api, envelope, instanceObject, nock, ukc} from './harness.js'

const quotas = {
  status: 'success',
  uuid: 'a1b2c3d4-0000-4000-8000-000000000001',
  used: {instances: 3, live_instances: 2, live_vcpus: 2, live_memory_mb: 256, service_groups: 1, services: 2, volumes: 1, total_volume_mb: 100},
  hard: {instances: 16, live_vcpus: 8, live_memory_mb: 4096, service_groups: 253, services: 253, volumes: 253, total_volume_mb: 1024},
  limits: {min_memory_mb: 16, max_memory_mb: 2048, min_vcpus: 1, max_vcpus: 8, min_volume_mb: 1, max_volume_mb: 1024, min_autoscale_size: 1, max_autoscale_size: 1},
}

describe('quotas, image list, metro list', () => {
  afterEach(() => nock.cleanAll())

  it('quotas: GETs /users/quotas and prints used/limit pairs', async () => {
    const scope = api().get('/v1/users/quotas').reply(200, envelope('quotas', [quotas]))
    const {stdout, exitCode} = await ukc(['quotas', ...TARGET])
    assert.ok(scope.isDone())
    assert.equal(exitCode, 0)
    assert.match(stdout, /^ +user name: alice$/m)
    assert.match(stdout, /^ +active instances: 2\/16$/m)
    assert.match(stdout, /^active used memory: 256 MiB\/4\.0 GiB$/m)
    assert.match(stdout, /^memory size limits: 16 MiB - 2\.0 GiB$/m)
    assert.match(stdout, /^ +autoscale: disabled$/m)
  })

  it('image list: shows user images, and official ones with --all', async () => {
    const images = [
      {status: 'success', digest: 'alice/app@sha256:aa', tags: ['alice/app:1.0'], size_in_bytes: 5 * 1024 * 1024, args: '/app'},
      {status: 'success', digest: 'nginx@sha256:bb', tags: ['nginx:latest'], size_in_bytes: 20 * 1024 * 1024},
    ]
    const instances = () => api().get('/v1/instances').reply(200, envelope('instances', [instanceObject({name: 'web', image: 'alice/app@sha256:aa'})]))
    api().get('/v1/images/list').reply(200, envelope('images', images))
    instances()
    const mine = await ukc(['image', 'ls', ...TARGET])
    assert.match(mine.stdout, /^NAME\s+VERSION\s+SIZE\s+USED BY\nalice\/app\s+1\.0\s+5\.0 MiB\s+web\n$/)
    api().get('/v1/images/list').reply(200, envelope('images', images))
    instances()
    const all = await ukc(['image', 'list', '--all', ...TARGET])
    assert.match(all.stdout, /^nginx\s+latest\s+20 MiB$/m)
  })

  it('image list: on the local platform, lists its whole catalog (postgres, redis, nginx) and whether this host can run each', async () => {
    const local = (tag: string, kind: string, available: boolean, anyTag = false) => ({
      status: 'success', digest: `${tag.split(':')[0]}@sha256:cc`, tags: [tag], size_in_bytes: 1024,
      labels: {'ukc.kind': kind, 'ukc.available': String(available), ...(anyTag ? {'ukc.tags': '*'} : {})},
    })
    api().get('/v1/images/list').reply(200, envelope('images', [local('ukc/hello:latest', 'builtin', true), local('postgres:latest', 'host', true, true), local('redis:latest', 'host', false, true)]))
    api().get('/v1/instances').reply(200, envelope('instances', []))
    const {stdout, exitCode} = await ukc(['image', 'list', ...TARGET])
    assert.equal(exitCode, 0)
    assert.match(stdout, /^NAME\s+VERSION\s+SIZE\s+AVAILABLE\s+USED BY$/m)
    assert.match(stdout, /^ukc\/hello\s+latest\s+1\.0 KiB\s+yes$/m)
    assert.match(stdout, /^postgres\s+\*\s+1\.0 KiB\s+yes$/m)
    assert.match(stdout, /^redis\s+\*\s+1\.0 KiB\s+no \(missing on this host\)$/m)
  })

  it('metro list: prints the known metros without calling an API', async () => {
    const {stdout, exitCode} = await ukc(['metro', 'list'])
    assert.equal(exitCode, 0)
    assert.match(stdout, /^fra\s+Frankfurt, DE\s+https:\/\/api\.fra\.unikraft\.cloud\/v1\s+false$/m)
    assert.match(stdout, /^fra0\s+Frankfurt, DE\s+https:\/\/api\.fra0\.kraft\.cloud\/v1\s+true$/m)
    assert.match(stdout, /^local\s+/m)
  })
})
