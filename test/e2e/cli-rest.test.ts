// The CLI-side workflows against the real embedded platform (real processes, real sockets): the
// rolling update of `instance create`, `--wait-for-image`, `service logs`, `image list`'s USED BY,
// `purge` (instances, services, volumes, certificates), and the local row of `metro list --status`. Metrics, autoscale, DELETE /images and the
// rollout under load are in scaling.test.ts, volumes in volumes.test.ts.
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, it} from 'node:test'

import type {Instance, ServiceGroup} from '../../src/api/types.js'
import {metroRows, probeRows} from '../../src/cli/index.js'
import {readPlatformInfo} from '../../src/local/index.js'
import {TestPki} from '../platform/certificate-chains.js'
import {Cli, ROOT, type Started, buildIfStale, until, viaGateway} from './platform-harness.js'

describe('CLI workflows on the embedded platform', () => {
  const cli = new Cli()
  let platform: Started

  before(async () => {
    await buildIfStale()
    platform = await cli.start()
  })
  after(() => cli.cleanup())

  const instances = () => cli.json<Instance[]>(['instance', 'list'], {as: 'alice'})

  it('rolls a service over to a new instance: the old one of the same image is drained, stopped and removed', async () => {
    await cli.json(['service', 'create', '--name', 'shop', '443:8080'], {as: 'alice'})
    const [v1] = await cli.json<Instance[]>(['instance', 'create', '--name', 'shop-v1', '--service', 'shop', '--start', '--wait', 'ukc/hello'], {as: 'alice'})
    const fqdn = (await cli.json<ServiceGroup[]>(['service', 'get', 'shop'], {as: 'alice'}))[0].domains?.[0]?.fqdn ?? ''
    assert.equal((await viaGateway(fqdn, platform.gateway.ports['443'], cli.ca())).body, 'Hello from shop-v1\n')

    const rollout = await cli.run(['instance', 'create', '--name', 'shop-v2', '--service', 'shop', '--start', '--rollout', 'remove', '--rollout-wait', '30s', '--rollout-drain-timeout', '2s', 'ukc/hello'], {as: 'alice'})
    assert.equal(rollout.code, 0, rollout.stderr)
    assert.match(rollout.stderr, /removing 1 existing instance\(s\)/)
    const left = await instances()
    assert.ok(!left.some((i) => i.uuid === v1.uuid), 'the old instance is gone')
    assert.equal(left.find((i) => i.name === 'shop-v2')?.state, 'running')
    assert.equal((await viaGateway(fqdn, platform.gateway.ports['443'], cli.ca())).body, 'Hello from shop-v2\n')

    // Outside a terminal, a rollout that would need a decision fails before anything is created.
    const undecided = await cli.run(['instance', 'create', '--name', 'shop-v3', '--service', 'shop', '--start', 'ukc/hello'], {as: 'alice'})
    assert.equal(undecided.code, 2)
    assert.match(undecided.stderr, /deployment already exists: 1 instance\(s\) of shop match --rollout-qualifier image \(shop-v2\)/)
    assert.ok(!(await instances()).some((i) => i.name === 'shop-v3'))
  })

  it('prints the logs of every instance of a service, prefixed with their names', async () => {
    await cli.json(['instance', 'create', '--name', 'duo', '--replicas', '1', '-p', '443:8080', '--start', '--wait', 'ukc/hello'], {as: 'alice'})
    const duo = (await instances()).filter((i) => i.name.startsWith('duo'))
    assert.equal(duo.length, 2)
    const service = duo[0].service_group?.name ?? ''
    const logs = await until('both consoles', async () => {
      const run = await cli.run(['service', 'logs', service], {as: 'alice'})
      return duo.every((i) => run.stdout.includes(`| hello: ${i.name} listening`)) ? run : undefined
    })
    for (const line of logs.stdout.trimEnd().split('\n')) assert.match(line, /^duo(-\w+)? *\| /)
  })

  it('names the instances using each image in image list', async () => {
    const images = await cli.run(['image', 'list', '--output', 'list'], {as: 'alice'})
    assert.equal(images.code, 0, images.stderr)
    const hello = images.stdout.split('\n\n').find((block) => /^ *name: ukc\/hello$/m.test(block)) ?? ''
    assert.match(hello, /^ *used by: (.*, )?shop-v2(, .*)?$/m)
    assert.match(hello, /duo/)
  })

  it('waits for an image that is registered while it waits', async () => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'run.js'), 'instance', 'create', '--name', 'late', '--wait-for-image', '--wait-for-image-timeout', '60s', 'alice/late:1.0'], {env: cli.env('alice')})
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
    await until('the create waiting for its image', () => (stderr.includes('waiting for image alice/late:1.0') ? true : undefined))
    fs.writeFileSync(path.join(cli.dataDir, 'images.json'), JSON.stringify({'alice/late:1.0': {command: ['sleep', '600'], port: 9999}}))
    assert.equal(await exited, 0, stderr)
    assert.equal((await instances()).find((i) => i.name === 'late')?.image, 'alice/late:1.0')
  })

  it('probes the local platform\'s API for metro list --status (over TLS, with its CA)', async () => {
    const info = readPlatformInfo(cli.dataDir)
    assert.ok(info)
    const [local] = await probeRows(metroRows(info).filter((row) => row.code === 'local'), {localCa: cli.ca()})
    assert.equal(local.status, 'online', local.reason)
    assert.equal(local.api, platform.url)
    assert.equal(typeof local.latency_ms, 'number')
  })

  it('purges everything of a user: instances, then services, volumes and certificates', async () => {
    const bob = await cli.json(['instance', 'create', '--name', 'bobs', '--start', 'ukc/hello'], {as: 'bob'})
    assert.equal((bob as Instance[]).length, 1)
    const volume = await cli.run(['volume', 'create', '--name', 'alices-data', '--size', '4Mi'], {as: 'alice'})
    assert.equal(volume.code, 0, volume.stderr)
    const pki = await TestPki.create()
    const leaf = await pki.leaf({cn: 'purge.example.test', names: ['purge.example.test']})
    const chain = path.join(cli.dir, 'purge-chain.pem')
    const key = path.join(cli.dir, 'purge-key.pem')
    fs.writeFileSync(chain, leaf.chain, {mode: 0o600})
    fs.writeFileSync(key, leaf.key, {mode: 0o600})
    const cert = await cli.run(['cert', 'create', '--name', 'alices-cert', '--cn', 'purge.example.test', '--chain', chain, '--pkey', key], {as: 'alice'})
    assert.equal(cert.code, 0, cert.stderr)
    const purge = await cli.run(['purge', '--yes'], {as: 'alice'})
    assert.equal(purge.code, 0, purge.stderr)
    assert.match(purge.stdout, /^METRO\s+KIND\s+NAME\s+UUID$/m)
    assert.match(purge.stdout, /^local\s+service\s+shop\s/m)
    assert.match(purge.stdout, /^local\s+volume\s+alices-data\s/m)
    assert.match(purge.stdout, /^local\s+certificate\s+alices-cert\s/m)
    assert.deepEqual(await instances(), [])
    assert.deepEqual(await cli.json<ServiceGroup[]>(['service', 'list'], {as: 'alice'}), [])
    assert.deepEqual(await cli.json<unknown[]>(['volume', 'list'], {as: 'alice'}), [])
    assert.deepEqual(await cli.json<unknown[]>(['cert', 'list'], {as: 'alice'}), [])
    // Another user's things are not touched.
    assert.deepEqual((await cli.json<Instance[]>(['instance', 'list'], {as: 'bob'})).map((i) => i.name), ['bobs'])
  })
})
