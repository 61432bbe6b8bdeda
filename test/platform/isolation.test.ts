// Tenant isolation below the API, attacked. A real platform (as root, with nftables) runs alice's
// Postgres, her hello server and a probe of hers; bob runs a probe too (isolation-probe.mjs, a user
// image). Bob's probe tries every path a second user once used against alice — her files, her
// processes' environment and signals, her Postgres socket, her private and backend IPs, the host's
// loopback services — and `ukc tunnel` with bob's token asks his relay for the host's API and alice's
// backend. Each must be refused. The controls: alice's probe still reaches her own instances, and
// the host (this test process) still reaches the private endpoints.
import assert from 'node:assert/strict'
import {spawn, type ChildProcess} from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import tls from 'node:tls'
import {after, before, describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'

import {UkcClient, createInstance, firstOrThrow} from '../../src/api/index.js'
import {runPlatform, type RunningPlatform} from '../../src/platform/index.js'
import type {InstanceRecord} from '../../src/platform/types.js'
import {attempt, installProbe, kernelIsolationSkip} from './isolation-fixture.js'
import {httpGet, missingBinary, until} from './runtime-fixture.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const noPostgres = missingBinary('postgres')

describe('tenant isolation, attacked by a second user', {skip: kernelIsolationSkip()}, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-isolation-'))
  const dataDir = path.join(dir, 'p')
  let platform: RunningPlatform
  let ca: string
  const instances: Record<'web' | 'db' | 'aliceProbe' | 'bobProbe', InstanceRecord | undefined> = {web: undefined, db: undefined, aliceProbe: undefined, bobProbe: undefined}
  let v6: net.Server

  const record = (name: keyof typeof instances): InstanceRecord => {
    const found = instances[name]
    assert.ok(found, `${name} was created`)
    return platform.store.instance(found.uuid) as InstanceRecord
  }
  const bob = (request: Parameters<typeof attempt>[1]) => attempt(record('bobProbe').private_ip, request)
  const alice = (request: Parameters<typeof attempt>[1]) => attempt(record('aliceProbe').private_ip, request)
  const aliceDataDir = (name: 'web' | 'db'): string => path.join(platform.runtime.instanceDir(record(name).uuid), 'data')

  before(async () => {
    fs.chmodSync(dir, 0o755)
    platform = await runPlatform({dataDir, apiPort: 0, gatewayPort: 0, users: ['alice', 'bob'], log: () => {}})
    installProbe(dir, dataDir)
    ca = fs.readFileSync(platform.info.ca, 'utf8')
    const [aliceUser, bobUser] = platform.info.users
    const as = (token: string) => new UkcClient({baseUrl: platform.info.url, token, ca})
    const create = async (token: string, name: string, image: string, env: Record<string, string> = {}) => {
      const created = firstOrThrow(await createInstance(as(token), {name, image, env, autostart: true, wait_timeout_ms: 60_000}))
      return platform.store.instance(created.uuid)
    }
    instances.web = await create(aliceUser!.token, 'web', 'hello', {ALICE_SECRET: 'alice-secret-value'})
    if (!noPostgres) instances.db = await create(aliceUser!.token, 'db', 'postgres:15', {POSTGRES_PASSWORD: 'alice-db-password'})
    instances.aliceProbe = await create(aliceUser!.token, 'probe', 'probe')
    instances.bobProbe = await create(bobUser!.token, 'probe', 'probe')
    v6 = await new Promise<net.Server>((resolve) => {
      const server = net.createServer((socket) => socket.end('host service on ::1\n')).listen(0, '::1', () => resolve(server))
    })
  })

  after(async () => {
    v6?.close()
    await platform?.close()
    fs.rmSync(dir, {recursive: true, force: true})
  })

  describe("bob's instance, against alice's files and processes", () => {
    it("cannot list alice's instance directory", async () => {
      const result = await bob({op: 'list', path: platform.runtime.instanceDir(record('web').uuid)})
      assert.deepEqual(result, {ok: false, code: 'EACCES'})
    })

    it("cannot list or read alice's pgdata", {skip: noPostgres}, async () => {
      const pgdata = path.join(aliceDataDir('db'), 'pgdata')
      assert.deepEqual(await bob({op: 'list', path: pgdata}), {ok: false, code: 'EACCES'})
      assert.deepEqual(await bob({op: 'read', path: path.join(pgdata, 'PG_VERSION')}), {ok: false, code: 'EACCES'})
    })

    it("cannot read the environment of alice's processes", async () => {
      const result = await bob({op: 'read', path: `/proc/${record('web').pid}/environ`})
      assert.deepEqual(result, {ok: false, code: 'EACCES'})
    })

    it("cannot signal alice's processes", async () => {
      const result = await bob({op: 'signal', pid: record('web').pid as number, signal: 'SIGTERM'})
      assert.deepEqual(result, {ok: false, code: 'EPERM'})
      assert.equal((await httpGet(record('web').private_ip, 8080)).body, 'Hello from web\n', "alice's server still answers")
    })

    it("cannot log in to alice's Postgres over its Unix socket", {skip: noPostgres}, async () => {
      const result = await bob({op: 'pg', socket: path.join(aliceDataDir('db'), 'run', '.s.PGSQL.5432')})
      assert.deepEqual(result, {ok: false, code: 'EACCES'})
    })
  })

  describe("bob's instance, against addresses that are not his", () => {
    // Her probe is the target here: it listens on 8080 and no attack above may stop it.
    it("cannot connect to alice's private IP, bound to his own or not", async () => {
      const target = record('aliceProbe')
      assert.deepEqual(await bob({op: 'connect', host: target.private_ip, port: 8080}), {ok: false, code: 'ECONNREFUSED'})
      const own = record('bobProbe').private_ip
      assert.deepEqual(await bob({op: 'connect', host: target.private_ip, port: 8080, localAddress: own}), {ok: false, code: 'ECONNREFUSED'})
      assert.deepEqual(await attempt(target.private_ip, {op: 'list', path: '/nonexistent'}), {ok: false, code: 'ENOENT'}, 'it is listening')
    })

    it("cannot connect to alice's backend IP (past her private endpoint)", async () => {
      assert.deepEqual(await bob({op: 'connect', host: record('aliceProbe').backend_ip, port: 8080}), {ok: false, code: 'ECONNREFUSED'})
    })

    it("cannot reach the platform's API on 127.0.0.1", async () => {
      const api = Number(new URL(platform.info.url).port)
      assert.deepEqual(await bob({op: 'connect', host: '127.0.0.1', port: api}), {ok: false, code: 'ECONNREFUSED'})
    })

    it("cannot reach the platform's gateway on 127.0.0.1", async () => {
      assert.deepEqual(await bob({op: 'connect', host: '127.0.0.1', port: platform.info.gateway.ports['443'] as number}), {ok: false, code: 'ECONNREFUSED'})
    })

    it('cannot reach a host service on ::1', async () => {
      assert.deepEqual(await bob({op: 'connect', host: '::1', port: (v6.address() as net.AddressInfo).port}), {ok: false, code: 'ECONNREFUSED'})
    })
  })

  describe('`ukc tunnel` with bob\u2019s token', () => {
    let tunnel: ChildProcess | undefined
    let exited: Promise<unknown> = Promise.resolve()
    let ports: {own: number; hostApi: number; aliceBackend: number}

    before(async () => {
      const api = new URL(platform.info.url).port
      const target = record('aliceProbe')
      const env: NodeJS.ProcessEnv = {...process.env, UKC_LOCAL_DIR: dataDir, UKC_TOKEN: platform.info.users[1]!.token, XDG_CONFIG_HOME: path.join(dir, 'config'), NO_COLOR: '1', UKC_NO_PROMPT: '1'}
      delete env.UKC_METRO
      const mappings = ['0:probe:8080', `0:127.0.0.1:${api}`, `0:${target.backend_ip}:8080`]
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test', 'commands', 'ukc-from-src.ts'), 'tunnel', '--json', ...mappings], {cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe']})
      tunnel = child
      exited = new Promise((resolve) => child.once('exit', resolve))
      let out = ''
      let err = ''
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
      child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()))
      await until('the tunnel to be ready', () => {
        if (child.exitCode !== null) throw new Error(`ukc tunnel exited: ${err}`)
        return out.includes('\n')
      }, 120_000)
      const ready = JSON.parse(out.split('\n')[0] as string) as {mappings: Array<{local: string}>}
      const [own, hostApi, aliceBackend] = ready.mappings.map((mapping) => Number(mapping.local.split(':').pop()))
      ports = {own: own as number, hostApi: hostApi as number, aliceBackend: aliceBackend as number}
    })
    after(async () => {
      tunnel?.kill('SIGINT') // deletes its relay
      await exited
    })

    it('reaches his own instance (the relay works)', async () => {
      assert.deepEqual(await attempt127(ports.own, {op: 'list', path: '/nonexistent'}), {ok: false, code: 'ENOENT'})
    })

    it("cannot reach the host's API through his relay", async () => {
      assert.match(await tlsHandshake(ports.hostApi, ca), /^refused/, "the API's TLS handshake never happens")
    })

    it("cannot reach alice's backend through his relay", async () => {
      assert.match(await plainGet(ports.aliceBackend), /^refused/, "alice's instance never answers")
    })
  })

  describe('controls: what must keep working', () => {
    it("alice's probe reaches her own instances by private IP and backend IP", async () => {
      const web = record('web')
      assert.deepEqual(await alice({op: 'http', host: web.private_ip, port: 8080}), {ok: true, data: 'Hello from web\n'})
      assert.deepEqual(await alice({op: 'http', host: web.private_ip, port: 8080, localAddress: record('aliceProbe').private_ip}), {ok: true, data: 'Hello from web\n'})
      assert.deepEqual(await alice({op: 'http', host: web.backend_ip, port: 8080}), {ok: true, data: 'Hello from web\n'})
    })

    it("alice's Postgres asks for her password, even on its own socket (local logins are not `trust`)", {skip: noPostgres}, async () => {
      const socket = path.join(aliceDataDir('db'), 'run', '.s.PGSQL.5432')
      assert.deepEqual(await alice({op: 'connect', host: record('db').private_ip, port: 5432}), {ok: true})
      // The host may open the socket (it is root); the server still wants the password.
      assert.equal(await pgFirstAnswer(socket), 'password requested')
    })

    it('the host reaches private endpoints of both users', async () => {
      assert.equal((await httpGet(record('web').private_ip, 8080)).body, 'Hello from web\n')
      assert.deepEqual(await attempt(record('bobProbe').private_ip, {op: 'list', path: '/nonexistent'}), {ok: false, code: 'ENOENT'})
    })
  })
})

/** Has a probe try `request` through a local tunnel port (127.0.0.1:port). */
function attempt127(port: number, request: Parameters<typeof attempt>[1]): ReturnType<typeof attempt> {
  return new Promise((resolve, reject) => {
    const req = http.request({host: '127.0.0.1', port, method: 'POST', agent: false}, (response) => {
      let body = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => (body += chunk))
      response.on('end', () => resolve(JSON.parse(body)))
    })
    req.on('error', reject)
    req.end(JSON.stringify(request))
  })
}

/** `secure` when a TLS handshake with the platform's certificate completes through `port`, else `refused: …`. */
function tlsHandshake(port: number, ca: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = tls.connect({host: '127.0.0.1', port, ca, servername: 'localhost'})
    socket.once('secureConnect', () => {
      socket.destroy()
      resolve('secure')
    })
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(`refused: ${error.code ?? error.message}`))
    socket.once('close', () => resolve('refused: closed'))
  })
}

/** The status line of a GET through `port`, or `refused: …` when nothing answers. */
function plainGet(port: number): Promise<string> {
  return new Promise((resolve) => {
    http
      .get({host: '127.0.0.1', port, agent: false}, (response) => {
        response.resume()
        resolve(`HTTP ${response.statusCode}`)
      })
      .once('error', (error: NodeJS.ErrnoException) => resolve(`refused: ${error.code ?? error.message}`))
  })
}

/** What a Postgres server answers first to a startup message for user postgres on `socket`. */
function pgFirstAnswer(socket: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const fields = Buffer.from('user\0postgres\0database\0postgres\0\0')
    const message = Buffer.alloc(8 + fields.length)
    message.writeInt32BE(message.length, 0)
    message.writeInt32BE(196_608, 4)
    fields.copy(message, 8)
    const connection = net.connect({path: socket}, () => connection.write(message))
    let answer = Buffer.alloc(0)
    connection.on('data', (chunk: Buffer) => {
      answer = Buffer.concat([answer, chunk])
      if (answer.length < 9) return
      connection.destroy()
      if (answer[0] !== 0x52) return resolve(`error: ${answer.subarray(5).toString('utf8')}`) // not an AuthenticationRequest
      resolve(answer.readInt32BE(5) === 0 ? 'authenticated' : 'password requested')
    })
    connection.on('error', reject)
  })
}
