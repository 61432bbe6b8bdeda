import assert from 'node:assert/strict'
import {afterEach, describe, it} from 'node:test'

import {TARGET, TOKEN, api, envelope, instanceObject, nock, ukc} from './harness.js'

const image = (tag: string, digest: string, labels?: Record<string, string>) => ({status: 'success', digest, tags: [tag], size_in_bytes: 2 * 1024 * 1024, ...(labels ? {labels} : {})})

describe('image list: what uses each image', () => {
  afterEach(() => nock.cleanAll())

  it('names the instances running each image, by digest or by name and tag', async () => {
    api().get('/v1/images/list').reply(200, envelope('images', [image('alice/app:1.0', 'alice/app@sha256:aa'), image('alice/other:latest', 'alice/other@sha256:bb'), image('alice/idle:2', 'alice/idle@sha256:cc')]))
    api()
      .get('/v1/instances', (body) => !body)
      .reply(200, envelope('instances', [
        instanceObject({name: 'web', image: 'oci://unikraft.io/alice/app:1.0@sha256:aa'}),
        instanceObject({name: 'web-2', image: 'alice/app@sha256:aa'}),
        instanceObject({name: 'worker', image: 'alice/other'}),
        instanceObject({name: 'old', image: 'alice/app@sha256:00'}),
      ]))
    const {stdout, exitCode} = await ukc(['image', 'list', ...TARGET])
    assert.equal(exitCode, 0)
    const lines = stdout.trimEnd().split('\n')
    assert.match(lines[0], /^NAME\s+VERSION\s+SIZE\s+USED BY$/)
    assert.match(lines[1], /^alice\/app\s+1\.0\s+2\.0 MiB\s+web, web-2$/)
    assert.match(lines[2], /^alice\/other\s+latest\s+2\.0 MiB\s+worker$/)
    assert.match(lines[3], /^alice\/idle\s+2\s+2\.0 MiB$/)
  })

  it('matches any tag of a local catalog entry that runs every tag (postgres:*)', async () => {
    const labels = {'ukc.kind': 'host', 'ukc.tags': '*', 'ukc.available': 'true'}
    api().get('/v1/images/list').reply(200, envelope('images', [image('postgres:latest', 'postgres@sha256:dd', labels)]))
    api().get('/v1/instances').reply(200, envelope('instances', [instanceObject({name: 'db', image: 'postgres:16'})]))
    const {stdout} = await ukc(['img', 'ls', '-o', 'list', ...TARGET])
    assert.match(stdout, /^ *used by: db$/m)
  })
})

describe('image remove', () => {
  afterEach(() => nock.cleanAll())

  it('DELETEs /images by tag or digest on a metro that is not Unikraft Cloud (the local extension)', async () => {
    const scope = api()
      .delete('/v1/images', [{tag: 'alice/app:1.0'}, {digest: 'alice/other@sha256:bb'}, {tag: 'alice/idle'}])
      .reply(200, envelope('images', [image('alice/app:1.0', 'alice/app@sha256:aa'), image('alice/other:latest', 'alice/other@sha256:bb'), image('alice/idle:2', 'alice/idle@sha256:cc')]))
    const {stdout, stderr, exitCode} = await ukc(['image', 'rm', 'alice/app:1.0', 'alice/other@sha256:bb', 'alice/idle', ...TARGET])
    assert.ok(scope.isDone())
    assert.equal(exitCode, 0)
    assert.equal(stderr, 'removing 3 image(s)\n')
    assert.match(stdout, /^NAME\s+VERSION\s+SIZE\nalice\/app\s+1\.0/)
  })

  it('reports images it could not remove with their exit code (4 not found, 5 in use)', async () => {
    api()
      .delete('/v1/images')
      .reply(200, {status: 'error', data: {images: [{status: 'error', error: 8, message: 'no image with name: ghost:latest'}, {status: 'error', error: 15, message: 'image is used by instance web'}]}})
    const {stderr, exitCode} = await ukc(['image', 'remove', 'ghost', 'alice/app:1.0', ...TARGET])
    assert.equal(exitCode, 4)
    assert.equal(stderr, 'removing 2 image(s)\nError: no image with name: ghost:latest\nError: alice/app:1.0: image is used by instance web\n')
  })

  it('removes only your own images with --all', async () => {
    api()
      .get('/v1/images/list')
      .reply(200, envelope('images', [image('hello:latest', 'hello@sha256:01', {'ukc.kind': 'builtin'}), image('mine:1', 'mine@sha256:02', {'ukc.kind': 'user'})]))
    const scope = api().delete('/v1/images', [{tag: 'mine:1'}]).reply(200, envelope('images', [image('mine:1', 'mine@sha256:02')]))
    const {exitCode} = await ukc(['image', 'remove', '--all', '--yes', ...TARGET])
    assert.ok(scope.isDone())
    assert.equal(exitCode, 0)
  })

  it('refuses on real Unikraft Cloud, where images live in the registry (exit 2, no API call)', async () => {
    const {stderr, exitCode} = await ukc(['image', 'remove', 'my-app', '--metro', 'fra', '--token', TOKEN])
    assert.equal(exitCode, 2)
    assert.equal(stderr, 'Error: on Unikraft Cloud (fra) images are removed from the registry, which ukc does not manage\nTry: remove it with `kraft cloud image remove IMAGE` or in the registry at index.unikraft.io\n')
    const both = await ukc(['image', 'remove', 'my-app', '--all', ...TARGET])
    assert.equal(both.exitCode, 2)
    const none = await ukc(['image', 'remove', ...TARGET])
    assert.equal(none.exitCode, 2)
    assert.match(none.stderr, /either specify an image name, or use the --all flag/)
  })
})
