// Shared by the command tests: a temp config dir per test file, a well-formed token, the API's
// response shapes, and runCommand with the exit code it produced.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {runCommand} from '@oclif/test'

import {nock} from '../setup.js'

export {nock}

const tempDirs = [fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-cmd-test-')), fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-cmd-data-'))]
;[process.env.UKC_CONFIG_DIR, process.env.UKC_DATA_DIR] = tempDirs
// Each test file runs in a process of its own: its temp dirs go when it exits.
process.once('exit', () => {
  for (const dir of tempDirs) fs.rmSync(dir, {recursive: true, force: true})
})
for (const name of ['UKC_METRO', 'UKC_TOKEN', 'UKC_PROFILE', 'UKC_OUTPUT', 'UNIKRAFTCLOUD_TOKEN', 'KRAFTCLOUD_TOKEN', 'KC_TOKEN', 'UNIKRAFTCLOUD_METRO', 'KRAFTCLOUD_METRO', 'KC_METRO']) {
  delete process.env[name]
}
process.env.NO_COLOR = '1'

export const ROOT = path.resolve(import.meta.dirname, '..', '..')

const pjson = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {version: string; oclif: Record<string, unknown>}
/**
 * Commands and the hook load from src through tsx, never from dist or a manifest: package.json names
 * the build's bundle for both, and oclif reads oclif.manifest.json (left by `npm run build`) unless
 * its version differs from the package's — hence the `-src` version.
 */
const LOAD_OPTIONS = {
  root: ROOT,
  pjson: {...pjson, version: `0.0.0-src`, oclif: {...pjson.oclif, commands: './src/commands', hooks: {command_not_found: './src/cli/command-not-found'}}},
} as unknown as Parameters<typeof runCommand>[1]
const emitWarning = process.emitWarning.bind(process)
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  if (String(warning).startsWith('Mismatched version in ukc plugin manifest')) return
  ;(emitWarning as (...args: unknown[]) => void)(warning, ...rest)
}) as typeof process.emitWarning

export const API = 'http://api.test'
export const METRO = `${API}/v1`
export const TOKEN = Buffer.from('robot$alice.users.kraftcloud:s3cret').toString('base64')
export const AUTH = `Bearer ${TOKEN}`
export const TARGET = ['--metro', METRO, '--token', TOKEN]

export interface RunResult<T = unknown> {
  stdout: string
  stderr: string
  result?: T
  error?: Error
  exitCode: number
}

/** Runs `ukc <args>` in-process; exitCode is what the process would exit with. */
export async function ukc<T = unknown>(args: string[]): Promise<RunResult<T>> {
  // Let node:test flush its own reporter output before stdout is captured.
  await new Promise((resolve) => setImmediate(resolve))
  process.exitCode = undefined
  const output = await runCommand<T>(args, LOAD_OPTIONS, {stripAnsi: false})
  const exitCode = Number(process.exitCode ?? (output.error as {oclif?: {exit?: number}} | undefined)?.oclif?.exit ?? 0)
  process.exitCode = undefined
  return {...output, exitCode}
}

/** The API for `/instances` with the given nock scope. */
export function api() {
  return nock(API, {reqheaders: {authorization: AUTH}})
}

export const envelope = (key: string, items: unknown[], status = 'success') => ({status, data: {[key]: items}})

export const UUID1 = '66d05e09-1c4a-4a8f-9c7e-0a1b2c3d4e5f'
export const UUID2 = '77e16f10-2d5b-4b90-8d8f-1b2c3d4e5f60'
export const SVC_UUID = '88f27021-3e6c-4ca1-9e90-2c3d4e5f6071'

/** An instance as `GET /instances` returns it (SDK GetResponseItem shape). */
export function instanceObject(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    status: 'success',
    uuid: UUID1,
    name: 'nginx-1a747',
    created_at: new Date(Date.now() - 3_600_000).toISOString(),
    state: 'running',
    image: 'nginx@sha256:0d5b4ba1ed18c2a3ab96e13f3f1a6d1e8c2a2b8e6f',
    memory_mb: 128,
    vcpus: 1,
    args: ['/usr/bin/nginx', '-c', '/etc/nginx/nginx.conf'],
    env: {PORT: '8080'},
    start_count: 1,
    restart_count: 0,
    started_at: new Date(Date.now() - 7_380_000).toISOString(),
    uptime_ms: 7_380_000,
    restart_policy: 'never',
    boot_time_us: 19810,
    net_time_us: 20112,
    scale_to_zero: {policy: 'off', stateful: false, cooldown_time_ms: 1000},
    private_fqdn: 'nginx-1a747.internal',
    private_ip: '172.16.3.3',
    service_group: {
      uuid: SVC_UUID,
      name: 'twilight-gorilla-ui5b6kwt',
      domains: [{fqdn: 'twilight-gorilla-ui5b6kwt.fra0.kraft.host'}],
    },
    volumes: [],
    ...overrides,
  }
}

/** A service as `GET /services` returns it. */
export function serviceObject(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    status: 'success',
    uuid: SVC_UUID,
    name: 'twilight-gorilla-ui5b6kwt',
    created_at: new Date(Date.now() - 600_000).toISOString(),
    persistent: false,
    autoscale: false,
    soft_limit: 1,
    hard_limit: 65535,
    services: [
      {port: 443, destination_port: 8080, handlers: ['http', 'tls']},
      {port: 80, destination_port: 443, handlers: ['http', 'redirect']},
    ],
    domains: [{fqdn: 'twilight-gorilla-ui5b6kwt.fra0.kraft.host'}],
    instances: [{uuid: UUID1, name: 'nginx-1a747'}],
    ...overrides,
  }
}

export const notFound = (key: string, name: string, what = 'instance') => ({
  status: 'error',
  message: 'No instances found',
  data: {[key]: [{status: 'error', name, error: 8, message: `${what} not found`}]},
})
