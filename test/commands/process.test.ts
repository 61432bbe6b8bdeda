// The real process: exit codes, stdout/stderr separation and stdin, against a loopback HTTP server
// that answers with the API's shapes.
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import type {AddressInfo} from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {after, before, describe, it} from 'node:test'

const ROOT = path.resolve(import.meta.dirname, '..', '..')
const TOKEN = Buffer.from('robot$alice.users.kraftcloud:s3cret').toString('base64')
const configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-process-test-'))
const requests: Array<{method: string; url: string; body: string}> = []

const server = http.createServer((req, res) => {
  let body = ''
  req.on('data', (chunk: Buffer) => (body += chunk.toString()))
  req.on('end', () => {
    requests.push({method: req.method ?? '', url: req.url ?? '', body})
    res.setHeader('Content-Type', 'application/json')
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      res.statusCode = 401
      res.end(JSON.stringify({status: 'error', message: 'Unauthorized'}))
      return
    }
    if (req.url === '/v1/instances' && req.method === 'GET') {
      const refs = body ? (JSON.parse(body) as Array<{name?: string}>) : []
      res.end(JSON.stringify({status: 'error', message: 'No instances found', data: {instances: refs.map((r) => ({status: 'error', name: r.name, error: 8, message: 'instance not found'}))}}))
      return
    }
    if (req.url === '/v1/users/quotas') {
      res.end(JSON.stringify({status: 'success', data: {quotas: [{status: 'success', uuid: 'q'}]}}))
      return
    }
    res.statusCode = 404
    res.end(JSON.stringify({status: 'error', message: 'no such endpoint'}))
  })
})
let metro = ''

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  metro = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`
})
after(async () => {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  fs.rmSync(configDir, {recursive: true, force: true})
})

function ukc(args: string[], stdin?: string): Promise<{code: number | null; stdout: string; stderr: string}> {
  const env: NodeJS.ProcessEnv = {...process.env, UKC_CONFIG_DIR: configDir, UKC_DATA_DIR: configDir}
  for (const name of ['UKC_METRO', 'UKC_TOKEN', 'UKC_PROFILE', 'NODE_ENV', 'FORCE_COLOR']) delete env[name]
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test/commands/ukc-from-src.ts'), ...args], {cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe']})
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  child.stdin.end(stdin ?? '')
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => resolve({code, stdout, stderr}))
  })
}

describe('ukc as a process', () => {
  it('exits 4 for an instance that does not exist, with the error on stderr only', async () => {
    const {code, stdout, stderr} = await ukc(['instance', 'get', 'ghost', '--metro', metro, '--token', TOKEN])
    assert.equal(code, 4, stderr)
    assert.equal(stdout, '')
    assert.equal(stderr, 'Error: ghost: instance not found\n')
    assert.deepEqual(requests.at(-1), {method: 'GET', url: '/v1/instances', body: '[{"name":"ghost"}]'})
  })

  it('exits 2 for bad input without calling the API', async () => {
    const before = requests.length
    const {code, stderr} = await ukc(['instance', 'create', '--port', '443:8080/quic', 'nginx', '--metro', metro, '--token', TOKEN])
    assert.equal(code, 2)
    assert.match(stderr, /^Error: unknown handler: quic \(choice of \[tls http redirect\]\)$/m)
    assert.equal(requests.length, before)
  })

  it('exits 3 when the API refuses the token', async () => {
    const wrong = Buffer.from('mallory:guess').toString('base64')
    const {code, stderr} = await ukc(['instance', 'list', '--metro', metro, '--token', wrong])
    assert.equal(code, 3)
    assert.match(stderr, /not authorized \(HTTP 401\)/)
    assert.ok(!stderr.includes(wrong))
  })

  it('logs in with the token read from stdin and uses it afterwards', async () => {
    const login = await ukc(['login', '--metro', metro], `${TOKEN}\n`)
    assert.equal(login.code, 0, login.stderr)
    assert.equal(login.stdout, `Logged in as alice on ${metro} (profile default)\n`)
    const whoami = await ukc(['whoami', '--json'])
    assert.equal(whoami.code, 0, whoami.stderr)
    assert.deepEqual(JSON.parse(whoami.stdout), {user: 'alice', metro, url: metro, profile: 'default'})
  })

  it('names the closest command for a typo even when no prompt can be shown (stdin not a terminal), exit 127', async () => {
    const typo = await ukc(['instanse', 'list'])
    assert.equal(typo.code, 127)
    assert.equal(typo.stdout, '')
    assert.equal(typo.stderr, 'Error: "instanse list" is not a ukc command. Did you mean "instance list"?\nTry: ukc instance list --help (every command: ukc help)\n')
    const alias = await ukc(['inst', 'lss'])
    assert.match(alias.stderr, /Did you mean "inst ls"\?/)
    const nothingClose = await ukc(['frobnicate'])
    assert.equal(nothingClose.code, 127)
    assert.equal(nothingClose.stderr, 'Error: "frobnicate" is not a ukc command.\nTry: ukc help lists every command\n')
  })

  it('names a missing argument in one short line with the usage line, exit 2', async () => {
    const image = await ukc(['instance', 'create', '--metro', metro, '--token', TOKEN])
    assert.equal(image.code, 2)
    assert.equal(image.stderr, 'Error: missing argument IMAGE\nTry: ukc instance create [FLAGS] IMAGE [-- ARGS...]  (more: --help)\n')
    const port = await ukc(['service', 'create', '--metro', metro, '--token', TOKEN])
    assert.equal(port.code, 2)
    assert.match(port.stderr, /^Error: missing argument PORT\nTry: ukc service create .*\n$/)
    assert.ok(port.stderr.length < 200, 'no note about multi-value flags')
  })

  it('local start refuses, in one line and before creating anything, a data dir the unprivileged instances cannot reach (as root)', {skip: process.getuid?.() === 0 ? false : 'instances run unprivileged only when the platform is root'}, async () => {
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-private-')) // 0700, like mktemp -d
    try {
      const {code, stdout, stderr} = await ukc(['local', 'start', '--data-dir', path.join(parent, 'p'), '--api-port', '0', '--gateway-port', '0'])
      assert.equal(code, 2)
      assert.equal(stdout, '')
      assert.match(stderr, new RegExp(`^Error: instance processes run as uid \\d+ and cannot enter ${parent}, which holds the data dir ${parent}/p\nTry: choose a data dir under a traversable directory such as the default /var/lib/ukc/local, or chmod o\\+x ${parent}\n$`))
      assert.equal(fs.existsSync(path.join(parent, 'p')), false)
    } finally {
      fs.rmSync(parent, {recursive: true, force: true})
    }
  })
})
