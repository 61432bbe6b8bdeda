// Every command that calls the API maps the API's failures to the documented exit codes:
// 400→2, 401→3, 404 and per-item code 8→4, 409 and per-item codes 11, 15, 23 and 24→5, 503 and refused→7.
import assert from 'node:assert/strict'
import http from 'node:http'
import type {AddressInfo} from 'node:net'
import {afterEach, before, describe, it} from 'node:test'

import {SVC_UUID, TARGET, TOKEN, api, nock, ukc} from './harness.js'

interface Case {
  args: string[]
  method: 'get' | 'post' | 'put' | 'delete'
  path: string
  key: string
}

/** One argument to ukc(), which splits on spaces outside double quotes. */
const PEM = '"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"'

const COMMANDS: Case[] = [
  {args: ['instance', 'list'], method: 'get', path: '/v1/instances', key: 'instances'},
  {args: ['instance', 'get', 'web'], method: 'get', path: '/v1/instances', key: 'instances'},
  {args: ['instance', 'create', 'nginx'], method: 'post', path: '/v1/instances', key: 'instances'},
  {args: ['instance', 'start', 'web'], method: 'put', path: '/v1/instances/start', key: 'instances'},
  {args: ['instance', 'stop', 'web'], method: 'put', path: '/v1/instances/stop', key: 'instances'},
  {args: ['instance', 'restart', 'web'], method: 'put', path: '/v1/instances/stop', key: 'instances'},
  {args: ['instance', 'remove', 'web'], method: 'delete', path: '/v1/instances', key: 'instances'},
  {args: ['instance', 'logs', 'web'], method: 'get', path: '/v1/instances/log', key: 'instances'},
  {args: ['service', 'create', '443:8080'], method: 'post', path: '/v1/services', key: 'service_groups'},
  {args: ['service', 'list'], method: 'get', path: '/v1/services', key: 'service_groups'},
  {args: ['service', 'get', 'web'], method: 'get', path: '/v1/services', key: 'service_groups'},
  {args: ['service', 'remove', 'web'], method: 'delete', path: '/v1/services', key: 'service_groups'},
  {args: ['service', 'drain', 'web'], method: 'get', path: '/v1/services', key: 'service_groups'},
  {args: ['quotas'], method: 'get', path: '/v1/users/quotas', key: 'quotas'},
  {args: ['image', 'list'], method: 'get', path: '/v1/images/list', key: 'images'},
  {args: ['volume', 'create', '--size', '1'], method: 'post', path: '/v1/volumes', key: 'volumes'},
  {args: ['volume', 'list'], method: 'get', path: '/v1/volumes', key: 'volumes'},
  {args: ['volume', 'get', 'web'], method: 'get', path: '/v1/volumes', key: 'volumes'},
  {args: ['volume', 'attach', 'web', '--to', 'db', '--at', '/data'], method: 'put', path: '/v1/volumes/attach', key: 'volumes'},
  {args: ['volume', 'detach', 'web'], method: 'put', path: '/v1/volumes/detach', key: 'volumes'},
  {args: ['volume', 'remove', 'web'], method: 'delete', path: '/v1/volumes', key: 'volumes'},
  {args: ['cert', 'create', '--cn', 'www.example.com', '--pkey', PEM, '--chain', PEM], method: 'post', path: '/v1/certificates', key: 'certificates'},
  {args: ['cert', 'list'], method: 'get', path: '/v1/certificates', key: 'certificates'},
  {args: ['cert', 'get', 'web'], method: 'get', path: '/v1/certificates', key: 'certificates'},
  {args: ['cert', 'remove', 'web'], method: 'delete', path: '/v1/certificates', key: 'certificates'},
  {args: ['image', 'remove', 'web'], method: 'delete', path: '/v1/images', key: 'images'},
  {args: ['instance', 'metrics', 'web'], method: 'get', path: '/v1/instances/metrics', key: 'instances'},
  {args: ['instance', 'top', 'web'], method: 'get', path: '/v1/instances/metrics', key: 'instances'},
  {args: ['service', 'logs', 'web'], method: 'get', path: '/v1/services', key: 'service_groups'},
  {args: ['scale', 'init', 'web', '--master', 'm'], method: 'post', path: '/v1/services/autoscale', key: 'service_groups'},
  {args: ['scale', 'get', 'web'], method: 'get', path: '/v1/services/autoscale', key: 'service_groups'},
  {args: ['scale', 'reset', 'web'], method: 'delete', path: '/v1/services/autoscale', key: 'service_groups'},
  {args: ['scale', 'add', SVC_UUID, '--name', 'p', '--step', '0:50/1'], method: 'post', path: `/v1/services/${SVC_UUID}/autoscale/policies`, key: 'policies'},
  {args: ['scale', 'remove', SVC_UUID, 'p'], method: 'delete', path: `/v1/services/${SVC_UUID}/autoscale/policies/p`, key: 'policies'},
  {args: ['purge', '--yes'], method: 'get', path: '/v1/instances', key: 'instances'},
]

const HTTP_FAILURES: Array<[number, number]> = [
  [400, 2],
  [401, 3],
  [404, 4],
  [409, 5],
  [503, 7],
]

const ITEM_FAILURES: Array<[number, number]> = [
  [8, 4],
  [11, 5],
  [15, 5],
  [23, 5],
  [24, 5],
]

describe('exit codes of every API command', () => {
  let refused = ''
  before(async () => {
    const server = http.createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    refused = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
  afterEach(() => nock.cleanAll())

  for (const command of COMMANDS) {
    const name = command.args.join(' ')
    it(`${name}: HTTP failures`, async () => {
      for (const [status, exit] of HTTP_FAILURES) {
        nock.cleanAll()
        api()[command.method](command.path).times(3).reply(status, {status: 'error', message: `failure ${status}`})
        const {exitCode, stderr} = await ukc([...command.args, ...TARGET])
        assert.equal(exitCode, exit, `HTTP ${status}: ${stderr}`)
        assert.match(stderr, new RegExp(`failure ${status}`))
      }
    })

    it(`${name}: per-item codes`, async () => {
      for (const [code, exit] of ITEM_FAILURES) {
        nock.cleanAll()
        const scope = api()
        scope[command.method](command.path)
          .reply(200, {status: 'error', message: 'failed', data: {[command.key]: [{status: 'error', name: 'web', error: code, message: `item failure ${code}`}]}})
        const {exitCode, stderr} = await ukc([...command.args, ...TARGET])
        assert.equal(exitCode, exit, `code ${code}: ${stderr}`)
        assert.match(stderr, new RegExp(`item failure ${code}`))
      }
    })

    it(`${name}: connection refused`, async () => {
      const {exitCode, stderr} = await ukc([...command.args, '--metro', refused, '--token', TOKEN])
      assert.equal(exitCode, 7)
      assert.match(stderr, /ECONNREFUSED/)
    })
  }
})
