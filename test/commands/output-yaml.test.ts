// -o yaml prints the same API objects as --json, as YAML (kraft accepts `yaml` wherever it takes -o);
// the yaml library is loaded only when YAML is asked for.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {afterEach, describe, it} from 'node:test'

import {parse} from 'yaml'

import {plainRequested} from '../../src/cli/colour.js'
import {ROOT, TARGET, api, envelope, instanceObject, nock, serviceObject, ukc} from './harness.js'

const volumes = envelope('volumes', [
  {status: 'success', uuid: '99a38132-4f7d-4db2-8fa1-3d4e5f607182', name: 'pgdata', state: 'mounted', size_mb: 512, attached_to: [{uuid: 'u1', name: 'db'}], mounted_by: [{uuid: 'u1', name: 'db', readonly: false}], persistent: true, created_at: '2026-01-01T00:00:00Z'},
])
const certificates = envelope('certificates', [
  {status: 'success', uuid: 'aa4b9243-5a8e-4ec3-9ab2-4e5f60718293', name: 'my-cert', common_name: '*.example.com', state: 'pending', validation: {attempt: 2, next: '2026-01-01T00:05:00Z'}, issuer: "CN=R3,O=Let's Encrypt,C=US", service_groups: []},
])

const CASES: Array<{args: string[]; path: string; body: Record<string, unknown>}> = [
  {args: ['instance', 'list'], path: '/v1/instances', body: envelope('instances', [instanceObject({env: {QUOTE: 'it\'s "x": y', EMPTY: ''}, args: ['--flag', '#not-a-comment']})])},
  {args: ['service', 'get', 'web'], path: '/v1/services', body: envelope('service_groups', [serviceObject()])},
  {args: ['volume', 'list'], path: '/v1/volumes', body: volumes},
  {args: ['cert', 'list'], path: '/v1/certificates', body: certificates},
]

describe('-o yaml', () => {
  afterEach(() => {
    nock.cleanAll()
    delete process.env.UKC_OUTPUT
  })

  for (const c of CASES) {
    it(`${c.args.join(' ')}: the YAML reads back as the --json output`, async () => {
      api().get(c.path).reply(200, c.body)
      const json = await ukc([...c.args, '--json', ...TARGET])
      api().get(c.path).reply(200, c.body)
      const yaml = await ukc([...c.args, '-o', 'yaml', ...TARGET])
      assert.equal(yaml.exitCode, 0)
      assert.equal(yaml.stderr, '')
      assert.doesNotMatch(yaml.stdout, /^\s*[[{]/, 'YAML, not JSON')
      assert.deepEqual(parse(yaml.stdout), JSON.parse(json.stdout))
    })
  }

  it('is the format UKC_OUTPUT=yaml asks for, and an empty list is []', async () => {
    process.env.UKC_OUTPUT = 'yaml'
    api().get('/v1/volumes').reply(200, {status: 'success', data: {}})
    const {stdout, stderr, exitCode} = await ukc(['volume', 'list', ...TARGET])
    assert.equal(exitCode, 0)
    assert.equal(stdout, '[]\n')
    assert.equal(stderr, '')
  })

  it('whoami prints its result for -o json and -o yaml too, not only for --json', async () => {
    const json = await ukc(['whoami', '-o', 'json', ...TARGET])
    const expected = {user: 'alice', metro: TARGET[1], url: TARGET[1], profile: 'default'}
    assert.deepEqual(JSON.parse(json.stdout), expected)
    const yaml = await ukc(['whoami', '-o', 'yaml', ...TARGET])
    assert.deepEqual(parse(yaml.stdout), expected)
  })

  it('is plain text: -o yaml turns colour off as -o json does', () => {
    assert.equal(plainRequested(['volume', 'list', '-o', 'yaml'], {}, true), true)
    assert.equal(plainRequested(['volume', 'list', '--output=yaml'], {}, true), true)
    assert.equal(plainRequested(['volume', 'list', '-o', 'table'], {}, true), false)
  })

  it('loads the yaml library only when YAML is asked for', () => {
    const script = `
      const {createRequire} = await import('node:module')
      const cache = createRequire(process.cwd() + '/').cache
      const loaded = () => Object.keys(cache).some((file) => file.includes('/node_modules/yaml/'))
      await import('./src/commands/volume/list.ts')
      const {loadYaml} = await import('./src/cli/render.ts')
      const before = loaded()
      await loadYaml()
      console.log(JSON.stringify({before, after: loaded()}))`
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {cwd: ROOT, encoding: 'utf8'})
    assert.equal(child.status, 0, child.stderr)
    assert.deepEqual(JSON.parse(child.stdout), {before: false, after: true})
  })
})
