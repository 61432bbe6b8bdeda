// The runtime with a fake store: real instance processes on loopback.
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import path from 'node:path'
import {after, before, describe, it} from 'node:test'

import {StopReason} from '../../src/platform/runtime/index.js'
import {findBinary, requireBinary} from '../../src/platform/runtime/host-binaries.js'
import type {UserRecord} from '../../src/platform/types.js'
import {httpGet, missingBinary as missing, RuntimeFixture, until} from './runtime-fixture.js'

describe('runtime', () => {
  let fixture: RuntimeFixture
  let alice: UserRecord

  before(async () => {
    fixture = await RuntimeFixture.create()
    alice = fixture.user('alice', 10)
  })
  after(() => fixture.close())

  it('starts hello: running, measured boot, answers on its private IP with its name', async () => {
    const record = fixture.instance(alice, 'hello', {ports: [8080]})
    await fixture.runtime.start(record.uuid)
    const started = fixture.get(record.uuid)
    assert.equal(started.state, 'running')
    assert.equal(started.start_count, 1)
    assert.ok((started.boot_time_us ?? 0) > 0, 'boot_time_us is measured')
    assert.ok(started.pid && started.pid > 0)
    const answer = await httpGet(record.private_ip, 8080)
    assert.equal(answer.status, 200)
    assert.equal(answer.body, `Hello from ${record.name}\n`)

    // Keep-alive: two requests over one connection through the private endpoint.
    const agent = new http.Agent({keepAlive: true, maxSockets: 1})
    const get = (): Promise<string> =>
      new Promise((resolve, reject) => {
        http
          .get({host: record.private_ip, port: 8080, agent}, (response) => {
            let body = ''
            response.setEncoding('utf8')
            response.on('data', (chunk: string) => (body += chunk))
            response.on('end', () => resolve(body))
          })
          .on('error', reject)
      })
    assert.equal(await get(), `Hello from ${record.name}\n`)
    assert.equal(await get(), `Hello from ${record.name}\n`)
    assert.equal(fixture.runtime.connections(record.uuid), 1, 'one kept-alive connection is counted')
    agent.destroy()
    await fixture.until('the connection to be released', () => fixture.runtime.connections(record.uuid) === 0)

    await fixture.runtime.stop(record.uuid, {force: false, drainTimeoutMs: 0, reason: 'user'})
    const stopped = fixture.get(record.uuid)
    assert.equal(stopped.state, 'stopped')
    assert.equal(stopped.stop_reason, StopReason.userStop)
    assert.equal(stopped.desired, 'stopped')
    assert.ok(fixture.stopped.includes(record.uuid), 'onStopped was called')
    await assert.rejects(httpGet(record.private_ip, 8080), /ECONNREFUSED/, 'the private endpoint is closed when stopped')
    await assert.rejects(fixture.runtime.open(record.uuid, 8080, 'public'), /not running/)
  })

  it('serves the console log with offsets from the start and from the end', async () => {
    const record = fixture.instance(alice, 'ukc/hello:latest')
    await fixture.runtime.start(record.uuid)
    // The console line may arrive just after the port accepts connections.
    const line = `hello: ${record.name} listening on ${record.backend_ip}:8080`
    await fixture.until('the startup line in the log', () => fixture.runtime.logs(record.uuid, 0, 0).output.toString().includes(line))
    const all = fixture.runtime.logs(record.uuid, 0, 0)
    const text = all.output.toString()
    assert.deepEqual(all.range, {start: 0, end: all.output.length})
    assert.deepEqual(all.available, {start: 0, end: all.output.length})
    const tail = fixture.runtime.logs(record.uuid, -10, 0)
    assert.equal(tail.output.toString(), text.slice(-10))
    assert.deepEqual(tail.range, {start: all.available.end - 10, end: all.available.end})
    const page = fixture.runtime.logs(record.uuid, 2, 5)
    assert.equal(page.output.toString(), text.slice(2, 7))
    assert.deepEqual(page.range, {start: 2, end: 7})
    await fixture.runtime.stop(record.uuid, {force: true, drainTimeoutMs: 0, reason: 'user'})
    const stopped = fixture.get(record.uuid)
    assert.equal(stopped.stop_reason, StopReason.forcedUserStop)
    assert.equal(stopped.exit_code, 137, 'SIGKILL shows as 128 + 9')
  })

  it('drains: stops accepting, waits for open connections up to the timeout', async () => {
    const record = fixture.instance(alice, 'echo')
    await fixture.runtime.start(record.uuid)
    const client = net.connect({host: record.private_ip, port: 9000})
    await new Promise((resolve) => client.once('connect', resolve))
    await fixture.until('the connection to be counted', () => fixture.runtime.connections(record.uuid) === 1)
    const stopping = fixture.runtime.stop(record.uuid, {force: false, drainTimeoutMs: 5_000, reason: 'user'})
    await fixture.until('draining', () => fixture.get(record.uuid).state === 'draining')
    await assert.rejects(
      new Promise((resolve, reject) => net.connect({host: record.private_ip, port: 9000}).once('connect', resolve).once('error', reject)),
      /ECONNREFUSED/,
      'a draining instance accepts no new connection',
    )
    client.end()
    await stopping
    assert.equal(fixture.get(record.uuid).state, 'stopped')
    client.destroy()
  })

  it('drain gives up at the timeout: the instance stops and the open connection ends', async () => {
    const record = fixture.instance(alice, 'echo')
    await fixture.runtime.start(record.uuid)
    const client = net.connect({host: record.private_ip, port: 9000})
    client.on('error', () => {})
    const ended = new Promise((resolve) => client.once('close', resolve))
    await new Promise((resolve) => client.once('connect', resolve))
    await fixture.until('the connection to be counted', () => fixture.runtime.connections(record.uuid) === 1)
    await fixture.runtime.stop(record.uuid, {force: false, drainTimeoutMs: 200, reason: 'user'})
    assert.equal(fixture.get(record.uuid).state, 'stopped')
    await ended
  })

  it('restarts under on-failure after an app exit, and a manual stop ends the sequence', async () => {
    // A user image that exits with code 3 on its first bytes (not on a connection: the readiness
    // probe connects too).
    const script = path.join(fixture.dataDir, 'crash-on-connect.cjs')
    fs.writeFileSync(
      script,
      "require('net').createServer((s) => s.on('data', () => process.exit(3))).listen(Number(process.env.PORT), process.env.UKC_LISTEN_HOST)\n",
      {mode: 0o644},
    )
    fs.writeFileSync(
      path.join(fixture.dataDir, 'images.json'),
      JSON.stringify({'crashy:latest': {command: [process.execPath, script], port: 7000}}),
    )
    const record = fixture.instance(alice, 'crashy', {restart_policy: 'on-failure'})
    await fixture.runtime.start(record.uuid)
    const poke = net.connect({host: record.private_ip, port: 7000}, () => poke.write('x'))
    poke.on('error', () => {})
    await fixture.until('the exit to be recorded', () => fixture.get(record.uuid).exit_code === 3)
    await fixture.until('the immediate restart', () => fixture.get(record.uuid).start_count === 2 && fixture.get(record.uuid).state === 'running')
    poke.destroy()
    const restarted = fixture.get(record.uuid)
    assert.equal(restarted.stop_reason, StopReason.appExit)
    assert.equal(restarted.restart_count, 1)
    assert.equal(restarted.restart_attempt, 1)
    assert.ok(!fixture.stopped.includes(record.uuid), 'a restart is not a stop for good: no onStopped (delete-on-stop)')

    // Second crash: the back-off now waits 5 s; a manual stop cancels that restart.
    const again = net.connect({host: record.private_ip, port: 7000}, () => again.write('x'))
    again.on('error', () => {})
    await fixture.until('the second exit', () => fixture.get(record.uuid).state === 'stopped')
    again.destroy()
    assert.ok(fixture.get(record.uuid).next_restart_at, 'a restart is scheduled')
    await fixture.runtime.stop(record.uuid, {force: false, drainTimeoutMs: 0, reason: 'user'})
    assert.equal(fixture.get(record.uuid).next_restart_at, undefined)
    assert.equal(fixture.get(record.uuid).desired, 'stopped')
    assert.ok(fixture.stopped.includes(record.uuid), 'stopped for good once the user stopped it')
  })

  it('restart policy always restarts after a clean exit; never does not', async () => {
    const script = path.join(fixture.dataDir, 'exit-on-connect.cjs')
    fs.writeFileSync(script, "require('net').createServer((s) => s.on('data', () => process.exit(0))).listen(Number(process.env.PORT), process.env.UKC_LISTEN_HOST)\n")
    fs.writeFileSync(path.join(fixture.dataDir, 'images.json'), JSON.stringify({'quitter:latest': {command: [process.execPath, script], port: 7400}}))
    const always = fixture.instance(alice, 'quitter', {restart_policy: 'always'})
    const never = fixture.instance(alice, 'quitter', {restart_policy: 'never'})
    const pokes: net.Socket[] = []
    for (const record of [always, never]) {
      await fixture.runtime.start(record.uuid)
      const poke = net.connect({host: record.private_ip, port: 7400}, () => poke.write('x'))
      pokes.push(poke.on('error', () => {}))
    }
    await fixture.until('the always instance to run again', () => fixture.get(always.uuid).start_count === 2 && fixture.get(always.uuid).state === 'running')
    await fixture.until('the never instance to stop', () => fixture.get(never.uuid).state === 'stopped')
    assert.equal(fixture.get(never.uuid).exit_code, 0)
    assert.equal(fixture.get(never.uuid).next_restart_at, undefined)
    assert.equal(fixture.get(never.uuid).start_count, 1)
    for (const poke of pokes) poke.destroy()
    await fixture.runtime.remove(always.uuid)
    await fixture.runtime.remove(never.uuid)
  })

  it('runs a user image from images.json with ${VAR} substitution and env defaults', async () => {
    const server =
      "require('http').createServer((q, r) => r.end(process.env.GREETING + ' on ' + process.argv[1])).listen(Number(process.argv[1]), process.argv[2])"
    fs.writeFileSync(
      path.join(fixture.dataDir, 'images.json'),
      JSON.stringify({'greeter:v1': {command: [process.execPath, '-e', server, '${PORT}', '${UKC_LISTEN_HOST}'], port: 7100, env: {GREETING: 'hi'}}}),
    )
    assert.throws(() => fixture.runtime.catalog.resolve('greeter'), /no image with name: greeter/, 'only the registered tag')
    const plain = fixture.instance(alice, 'greeter:v1')
    const custom = fixture.instance(alice, 'greeter:v1', {env: {GREETING: 'hello'}})
    await fixture.runtime.start(plain.uuid)
    await fixture.runtime.start(custom.uuid)
    assert.equal((await httpGet(plain.private_ip, 7100)).body, 'hi on 7100')
    assert.equal((await httpGet(custom.private_ip, 7100)).body, 'hello on 7100', "the instance's env wins")
    await fixture.runtime.remove(plain.uuid)
    await fixture.runtime.remove(custom.uuid)
  })

  it('reports a user image that cannot run, and a broken images.json breaks only user images', async () => {
    fs.writeFileSync(path.join(fixture.dataDir, 'images.json'), JSON.stringify({'ghost:latest': {command: ['/nonexistent/ghost'], port: 7300}}))
    const ghost = fixture.instance(alice, 'ghost')
    await assert.rejects(fixture.runtime.start(ghost.uuid), /cannot run \/nonexistent\/ghost: no such file/)
    assert.equal(fixture.get(ghost.uuid).state, 'stopped')
    assert.match(fixture.runtime.logs(ghost.uuid, 0, 0).output.toString(), /cannot run \/nonexistent\/ghost/)

    fs.writeFileSync(path.join(fixture.dataDir, 'images.json'), '{not json')
    assert.equal(fixture.runtime.catalog.resolve('hello').name, 'ukc/hello:latest')
    assert.throws(() => fixture.runtime.catalog.resolve('ghost'), /images\.json is not valid JSON/)
    assert.ok(fixture.runtime.catalog.list().length >= 6)
  })

  it('stops an instance that is still booting; the start fails and says so', async () => {
    const slow = "setTimeout(() => require('net').createServer().listen(Number(process.env.PORT), process.env.UKC_LISTEN_HOST), 30000)"
    fs.writeFileSync(path.join(fixture.dataDir, 'images.json'), JSON.stringify({'slow:latest': {command: [process.execPath, '-e', slow], port: 7200}}))
    const record = fixture.instance(alice, 'slow')
    const starting = fixture.runtime.start(record.uuid)
    starting.catch(() => {})
    await fixture.until('starting', () => fixture.get(record.uuid).state === 'starting' && fixture.get(record.uuid).pid === undefined)
    await fixture.runtime.stop(record.uuid, {force: false, drainTimeoutMs: 0, reason: 'user'})
    await assert.rejects(starting, /stopped while booting/)
    assert.equal(fixture.get(record.uuid).state, 'stopped')
    assert.equal(fixture.get(record.uuid).stop_reason, StopReason.userStop)
  })

  it('reports unknown images and images that cannot start', async () => {
    assert.throws(() => fixture.runtime.catalog.resolve('nope:1'), /no image with name: nope:1/)
    assert.throws(
      () => requireBinary('ukc-no-such-server', 'ukc-no-such-package', 'nope:1'),
      /image nope:1 needs the "ukc-no-such-server" binary, which is not installed on this machine; install it with: apt-get install ukc-no-such-package/,
    )
    const images = fixture.runtime.catalog.list()
    const hello = images.find((image) => image.tags?.includes('ukc/hello:latest'))
    assert.ok(hello, 'hello is listed')
    assert.equal(typeof hello.args, 'string')
    assert.ok((hello.size_in_bytes ?? 0) > 0)
  })

  it('resolves host images by any reference and reports their launch errors', {skip: missing('nginx') || missing('postgres')}, async () => {
    assert.equal(fixture.runtime.catalog.resolve('index.unikraft.io/official/nginx:1.25').name, 'nginx:1.25')
    const pg = fixture.runtime.catalog.resolve('postgres:16')
    assert.deepEqual(pg.ports, [5432])
    assert.match(pg.digest, /^postgres@sha256:[0-9a-f]{64}$/)

    const record = fixture.instance(alice, 'postgres:16')
    await assert.rejects(fixture.runtime.start(record.uuid), /POSTGRES_PASSWORD/)
    assert.equal(fixture.get(record.uuid).state, 'stopped')
    assert.match(fixture.runtime.logs(record.uuid, 0, 0).output.toString(), /POSTGRES_PASSWORD/)
  })

  it('runs instance processes unprivileged when the platform is root', {skip: process.getuid?.() !== 0 && 'not root'}, async () => {
    const record = fixture.instance(alice, 'hello')
    await fixture.runtime.start(record.uuid)
    const status = fs.readFileSync(`/proc/${fixture.get(record.uuid).pid}/status`, 'utf8')
    const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1])
    assert.notEqual(uid, 0)
    await fixture.runtime.remove(record.uuid)
    assert.equal(fs.existsSync(fixture.runtime.instanceDir(record.uuid)), false)
  })
})

describe('runtime time bounds', () => {
  let fixture: RuntimeFixture
  let erin: UserRecord

  before(async () => {
    // Short bounds, but not the boot timeout: every other boot here must not race it on a busy machine.
    fixture = await RuntimeFixture.create({healthyAfterMs: 300, stopGraceMs: 300})
    erin = fixture.user('erin', 9)
  })
  after(() => fixture.close())

  function userImage(name: string, program: string, port: number, on = fixture): void {
    const images = path.join(on.dataDir, 'images.json')
    const current = fs.existsSync(images) ? (JSON.parse(fs.readFileSync(images, 'utf8')) as object) : {}
    fs.writeFileSync(images, JSON.stringify({...current, [`${name}:latest`]: {command: [process.execPath, '-e', program], port}}))
  }

  it('resets the restart back-off after healthy running', async () => {
    userImage('crashy', "require('net').createServer((s) => s.on('data', () => process.exit(1))).listen(Number(process.env.PORT), process.env.UKC_LISTEN_HOST)", 7500)
    const record = fixture.instance(erin, 'crashy', {restart_policy: 'on-failure'})
    await fixture.runtime.start(record.uuid)
    const crash = async (startCount: number): Promise<void> => {
      const poke = net.connect({host: record.private_ip, port: 7500}, () => poke.write('x')).on('error', () => {})
      await fixture.until(`start ${startCount}`, () => fixture.get(record.uuid).start_count === startCount && fixture.get(record.uuid).state === 'running', 3_000)
      poke.destroy()
    }
    await crash(2)
    assert.equal(fixture.get(record.uuid).restart_attempt, 1)
    await fixture.until('the back-off to reset', () => fixture.get(record.uuid).restart_attempt === 0)
    // Without the reset the next restart would wait 5 s (and `crash` would time out).
    await crash(3)
    assert.equal(fixture.get(record.uuid).restart_count, 2)
    await fixture.runtime.stop(record.uuid, {force: false, drainTimeoutMs: 0, reason: 'user'})
  })

  it('kills a process that does not listen within the boot timeout', async () => {
    const short = await RuntimeFixture.create({bootTimeoutMs: 400})
    try {
      userImage('mute', 'setInterval(() => {}, 1000)', 7600, short)
      const record = short.instance(short.user('erin', 5), 'mute')
      await assert.rejects(short.runtime.start(record.uuid), /did not listen on .*:7600 within 0.4 s/)
      assert.equal(short.get(record.uuid).state, 'stopped')
      assert.equal(short.get(record.uuid).exit_code, 137, 'killed')
      assert.match(short.runtime.logs(record.uuid, 0, 0).output.toString(), /did not listen/)
    } finally {
      await short.close()
    }
  })

  it('kills a process that ignores the stop signal after the grace period', async () => {
    userImage(
      'stubborn',
      "process.on('SIGTERM', () => {}); require('net').createServer().listen(Number(process.env.PORT), process.env.UKC_LISTEN_HOST)",
      7700,
    )
    const record = fixture.instance(erin, 'stubborn')
    await fixture.runtime.start(record.uuid)
    await fixture.runtime.stop(record.uuid, {force: false, drainTimeoutMs: 0, reason: 'user'})
    assert.equal(fixture.get(record.uuid).state, 'stopped')
    assert.equal(fixture.get(record.uuid).exit_code, 137)
    assert.equal(fixture.get(record.uuid).stop_reason, StopReason.userStop)
  })
})

describe('runtime and the platform process', () => {
  it('instances die with the platform, even when it is killed with SIGKILL', {skip: !findBinary('setpriv') && 'setpriv is not installed'}, async () => {
    // A platform in its own process: a runtime that starts hello and reports the instance's pid.
    const platform = `
      import {RuntimeFixture} from ${JSON.stringify(path.resolve('test/platform/runtime-fixture.ts'))}
      const fixture = await RuntimeFixture.create()
      const record = fixture.instance(fixture.user('frank', 8), 'hello')
      await fixture.runtime.start(record.uuid)
      console.log(JSON.stringify({pid: fixture.get(record.uuid).pid, dir: fixture.dataDir}))
      setInterval(() => {}, 1000)`
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', platform], {stdio: ['ignore', 'pipe', 'inherit']})
    const exited = new Promise((resolve) => child.once('exit', resolve))
    const report = await new Promise<{pid: number; dir: string}>((resolve) =>
      child.stdout.once('data', (chunk: Buffer) => resolve(JSON.parse(chunk.toString()) as {pid: number; dir: string})),
    )
    assert.ok(alive(report.pid))
    child.kill('SIGKILL')
    await exited
    try {
      await until('the instance process to die', () => !alive(report.pid), 5_000)
    } finally {
      fs.rmSync(report.dir, {recursive: true, force: true})
    }
  })
})

/** Running (a zombie waiting for a reaper counts as dead). */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')
  } catch {
    return false
  }
}
