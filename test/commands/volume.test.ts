// `ukc volume …` against the real API's shapes (nock): method, path, Bearer header (api() requires
// it) and JSON body of every call, each response form (success, partial success, per-item codes,
// whole-request failures) and what the user sees.
import assert from 'node:assert/strict'
import {afterEach, describe, it} from 'node:test'

import {TARGET, UUID1, UUID2, api, envelope, instanceObject, nock, ukc} from './harness.js'

const VOL_UUID = '99a38132-4f7d-4db2-8fa1-3d4e5f607182'

function volumeObject(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    status: 'success',
    uuid: VOL_UUID,
    name: 'pgdata',
    state: 'available',
    size_mb: 512,
    attached_to: [],
    mounted_by: [],
    persistent: true,
    created_at: new Date(Date.now() - 300_000).toISOString(),
    ...overrides,
  }
}

const failed = (name: string, error: number, message: string) => ({status: 'error', name, error, message})

describe('volume create', () => {
  afterEach(() => nock.cleanAll())

  it('POSTs /volumes with the name and the size in MiB, then prints the new volume', async () => {
    const created = api()
      .post('/v1/volumes', {name: 'pgdata', size_mb: 512})
      .reply(200, envelope('volumes', [{status: 'success', state: 'initializing', uuid: VOL_UUID, name: 'pgdata'}]))
    const fetched = api().get('/v1/volumes', [{uuid: VOL_UUID}]).reply(200, envelope('volumes', [volumeObject()]))
    const {stdout, stderr, exitCode} = await ukc(['volume', 'create', '--size', '512Mi', '--name', 'pgdata', ...TARGET])
    assert.ok(created.isDone() && fetched.isDone())
    assert.equal(exitCode, 0)
    assert.equal(stderr, '')
    assert.match(stdout, /^NAME\s+CREATED AT\s+SIZE\s+ATTACHED TO\s+MOUNTED BY\s+STATE\s+PERSISTENT\npgdata\s+5mins ago\s+512 MiB\s+available\s+true\n$/)
  })

  it('reads --size as kraft does: a plain integer is MiB, quantities are converted, the name is optional', async () => {
    for (const [size, mib] of [['100', 100], ['1Gi', 1024], ['1G', 953], ['1.5Gi', 1536]] as const) {
      nock.cleanAll()
      const scope = api().post('/v1/volumes', {size_mb: mib}).reply(200, envelope('volumes', [{status: 'success', uuid: VOL_UUID, name: 'vol-a1b2c'}]))
      api().get('/v1/volumes').reply(200, envelope('volumes', [volumeObject({name: 'vol-a1b2c', size_mb: mib})]))
      const {exitCode} = await ukc(['vol', 'crt', '-s', size, ...TARGET])
      assert.equal(exitCode, 0, size)
      assert.ok(scope.isDone(), size)
    }
  })

  it('refuses a size below 1Mi, a size that is no quantity and a missing --size (exit 2, no API call)', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--size', '512Ki'], /^Error: size must be at least 1Mi$/m],
      [['--size', '0'], /^Error: size must be at least 1Mi$/m],
      [['--size', 'lots'], /^Error: invalid size quantity "lots"\nTry: use MiB as an integer \(512\) or a quantity such as 512Mi or 1Gi$/m],
      [[], /Missing required flag size/],
    ]
    for (const [flags, message] of cases) {
      const {exitCode, stderr} = await ukc(['volume', 'create', ...flags, ...TARGET])
      assert.equal(exitCode, 2, flags.join(' '))
      assert.match(stderr, message)
    }
  })

  it('exits 5 when the name is taken (code 23) and 2 with the API message when it rejects the request (400)', async () => {
    api().post('/v1/volumes').reply(200, {status: 'error', message: 'Creation failed', data: {volumes: [failed('pgdata', 23, 'A volume with this name already exists')]}})
    const taken = await ukc(['volume', 'create', '-s', '1', '-n', 'pgdata', ...TARGET])
    assert.equal(taken.exitCode, 5)
    assert.equal(taken.stderr, 'Error: pgdata: A volume with this name already exists\n')

    api().post('/v1/volumes').reply(400, {status: 'error', message: "Value of 'size_mb' must be in the range 1 to 1024"})
    const big = await ukc(['volume', 'create', '-s', '2Gi', ...TARGET])
    assert.equal(big.exitCode, 2)
    assert.equal(big.stderr, "Error: Value of 'size_mb' must be in the range 1 to 1024\n")
  })
})

describe('volume list and get', () => {
  afterEach(() => nock.cleanAll())

  it('lists every volume (GET /volumes without a body) in kraft\'s table', async () => {
    const attached = volumeObject({
      uuid: UUID2,
      name: 'shared',
      state: 'mounted',
      size_mb: 2048,
      attached_to: [{uuid: UUID1, name: 'db'}],
      mounted_by: [{uuid: UUID1, name: 'db', readonly: true}],
      persistent: false,
    })
    api().get('/v1/volumes', (body) => !body).reply(200, envelope('volumes', [volumeObject(), attached]))
    const {stdout, exitCode} = await ukc(['volumes', 'ls', ...TARGET])
    assert.equal(exitCode, 0)
    const lines = stdout.trimEnd().split('\n')
    assert.match(lines[0], /^NAME\s+CREATED AT\s+SIZE\s+ATTACHED TO\s+MOUNTED BY\s+STATE\s+PERSISTENT$/)
    assert.match(lines[1], /^pgdata\s+5mins ago\s+512 MiB\s+available\s+true$/)
    assert.match(lines[2], /^shared\s+5mins ago\s+2\.0 GiB\s+db\s+db:ro\s+mounted\s+false$/)
  })

  it('says on stderr that there are no volumes, and prints nothing on stdout', async () => {
    api().get('/v1/volumes').reply(200, {status: 'success', data: {}})
    const {stdout, stderr, exitCode} = await ukc(['volume', 'list', ...TARGET])
    assert.equal(exitCode, 0)
    assert.equal(stdout, '')
    assert.match(stderr, /No volumes\. Create one with `ukc volume create --size 512Mi`\./)
  })

  it('gets volumes by name and UUID in the list format, with the UUID', async () => {
    const scope = api().get('/v1/volumes', [{name: 'pgdata'}, {uuid: UUID2}]).reply(200, envelope('volumes', [volumeObject(), volumeObject({uuid: UUID2, name: 'other'})]))
    const {stdout, exitCode} = await ukc(['volume', 'gt', 'pgdata', UUID2.toUpperCase(), ...TARGET])
    assert.ok(scope.isDone())
    assert.equal(exitCode, 0)
    assert.match(stdout, new RegExp(`^ +uuid: ${VOL_UUID}\n +name: pgdata\n +created at: 5mins ago\n +size: 512 MiB\nattached to:\n +mounted by:\n +state: available\n +persistent: true\n\n +uuid: ${UUID2}`))
  })

  it('partial success: prints the volumes that exist, reports the missing one and exits 4', async () => {
    api()
      .get('/v1/volumes', [{name: 'pgdata'}, {name: 'ghost'}])
      .reply(200, {status: 'partial_success', message: 'one or more operations failed', data: {volumes: [volumeObject(), failed('ghost', 8, 'volume not found')]}})
    const {stdout, stderr, exitCode} = await ukc(['volume', 'get', 'pgdata', 'ghost', ...TARGET])
    assert.equal(exitCode, 4)
    assert.equal(stderr, 'Error: ghost: volume not found\n')
    assert.match(stdout, /^ +name: pgdata$/m)
    assert.doesNotMatch(stdout, /ghost/)
  })
})

describe('volume attach and detach', () => {
  afterEach(() => nock.cleanAll())

  it('PUTs /volumes/attach with the volume, the instance, the path and readonly', async () => {
    const scope = api()
      .put('/v1/volumes/attach', [{name: 'pgdata', attach_to: {name: 'db'}, at: '/var/lib/postgresql/data', readonly: false}])
      .reply(200, envelope('volumes', [{status: 'success', uuid: VOL_UUID, name: 'pgdata'}]))
    const {stdout, stderr, exitCode} = await ukc(['volume', 'attach', 'pgdata', '--to', 'db', '--at', '/var/lib/postgresql/data', ...TARGET])
    assert.ok(scope.isDone())
    assert.equal(exitCode, 0)
    assert.equal(stderr, 'attached pgdata to db at /var/lib/postgresql/data\n')
    assert.match(stdout, new RegExp(`^NAME\\s+UUID\\npgdata\\s+${VOL_UUID}\\n$`))
  })

  it('addresses volume and instance by UUID when given one, and mounts read-only with -r', async () => {
    const scope = api()
      .put('/v1/volumes/attach', [{uuid: VOL_UUID, attach_to: {uuid: UUID1}, at: '/data', readonly: true}])
      .reply(200, envelope('volumes', [{status: 'success', uuid: VOL_UUID, name: 'pgdata'}]))
    const {stderr, exitCode} = await ukc(['vol', 'at', VOL_UUID, '--to', UUID1, '--at', '/data', '-r', ...TARGET])
    assert.ok(scope.isDone())
    assert.equal(exitCode, 0)
    assert.equal(stderr, `attached pgdata to ${UUID1} at /data (read-only)\n`)
  })

  it('refuses a relative mount path and a missing --to (exit 2, no API call)', async () => {
    const relative = await ukc(['volume', 'attach', 'pgdata', '--to', 'db', '--at', 'data', ...TARGET])
    assert.equal(relative.exitCode, 2)
    assert.equal(relative.stderr.split('\n')[0], 'Error: invalid --at mount path "data": expected an absolute path such as /data')
    const noTarget = await ukc(['volume', 'attach', 'pgdata', '--at', '/data', ...TARGET])
    assert.equal(noTarget.exitCode, 2)
    assert.match(noTarget.stderr, /Missing required flag to/)
  })

  it('exits 5 when the volume is already attached (code 15) and 4 when the instance does not exist (code 8)', async () => {
    api().put('/v1/volumes/attach').reply(200, {status: 'error', data: {volumes: [failed('pgdata', 15, 'volume is already attached to an instance')]}})
    const busy = await ukc(['volume', 'attach', 'pgdata', '--to', 'db', '--at', '/data', ...TARGET])
    assert.equal(busy.exitCode, 5)
    assert.equal(busy.stderr, 'Error: pgdata: volume is already attached to an instance\n')
    assert.equal(busy.stdout, '')

    api().put('/v1/volumes/attach').reply(200, {status: 'error', data: {volumes: [failed('pgdata', 8, 'instance ghost not found')]}})
    const missing = await ukc(['volume', 'attach', 'pgdata', '--to', 'ghost', '--at', '/data', ...TARGET])
    assert.equal(missing.exitCode, 4)
    assert.equal(missing.stderr, 'Error: pgdata: instance ghost not found\n')
  })

  it('is never retried: a lost answer would make a second attach fail as "already attached"', async () => {
    const scope = api().put('/v1/volumes/attach').once().reply(503, {status: 'error', message: 'unavailable'})
    const {exitCode} = await ukc(['volume', 'attach', 'pgdata', '--to', 'db', '--at', '/data', ...TARGET])
    assert.ok(scope.isDone())
    assert.equal(exitCode, 7)
  })

  it('PUTs /volumes/detach with only the volume, or with --from', async () => {
    const all = api().put('/v1/volumes/detach', [{name: 'pgdata'}]).reply(200, envelope('volumes', [{status: 'success', uuid: VOL_UUID, name: 'pgdata'}]))
    const everywhere = await ukc(['volume', 'detach', 'pgdata', ...TARGET])
    assert.ok(all.isDone())
    assert.equal(everywhere.exitCode, 0)
    assert.equal(everywhere.stderr, 'detached pgdata\n')

    const one = api().put('/v1/volumes/detach', [{name: 'pgdata', from: {uuid: UUID1}}]).reply(200, envelope('volumes', [{status: 'success', uuid: VOL_UUID, name: 'pgdata'}]))
    const fromOne = await ukc(['volume', 'det', 'pgdata', '--from', UUID1, ...TARGET])
    assert.ok(one.isDone())
    assert.equal(fromOne.exitCode, 0)
    assert.equal(fromOne.stderr, `detached pgdata from ${UUID1}\n`)
  })

  it('exits 5 when the volume is not attached (code 21) and 4 when the API answers 404', async () => {
    api().put('/v1/volumes/detach').reply(200, {status: 'error', data: {volumes: [failed('pgdata', 21, 'volume is not attached')]}})
    const loose = await ukc(['volume', 'detach', 'pgdata', ...TARGET])
    assert.equal(loose.exitCode, 5)
    assert.equal(loose.stderr, 'Error: pgdata: volume is not attached\n')

    api().put('/v1/volumes/detach').reply(404, {status: 'error', message: 'No volumes found'})
    const gone = await ukc(['volume', 'detach', 'ghost', ...TARGET])
    assert.equal(gone.exitCode, 4)
    assert.equal(gone.stderr, 'Error: No volumes found\n')
  })
})

describe('volume remove', () => {
  afterEach(() => nock.cleanAll())

  it('DELETEs /volumes by name and UUID', async () => {
    const scope = api()
      .delete('/v1/volumes', [{name: 'pgdata'}, {uuid: UUID2}])
      .reply(200, envelope('volumes', [{status: 'success', uuid: VOL_UUID, name: 'pgdata'}, {status: 'success', uuid: UUID2, name: 'other'}]))
    const {stdout, stderr, exitCode} = await ukc(['volume', 'rm', 'pgdata', UUID2, ...TARGET])
    assert.ok(scope.isDone())
    assert.equal(exitCode, 0)
    assert.equal(stderr, 'removing 2 volume(s)\n')
    assert.match(stdout, new RegExp(`^NAME\\s+UUID\\npgdata\\s+${VOL_UUID}\\nother\\s+${UUID2}\\n$`))
  })

  it('--all removes only the volumes no instance holds, by UUID', async () => {
    api()
      .get('/v1/volumes', (body) => !body)
      .reply(200, envelope('volumes', [volumeObject(), volumeObject({uuid: UUID2, name: 'held', state: 'mounted', attached_to: [{uuid: UUID1, name: 'db'}]})]))
    const scope = api().delete('/v1/volumes', [{uuid: VOL_UUID}]).reply(200, envelope('volumes', [{status: 'success', uuid: VOL_UUID, name: 'pgdata'}]))
    const {stderr, exitCode} = await ukc(['volume', 'remove', '--all', '--yes', ...TARGET])
    assert.ok(scope.isDone())
    assert.equal(exitCode, 0)
    assert.equal(stderr, 'leaving 1 attached volume(s)\nremoving 1 volume(s)\n')
  })

  it('--all with every volume attached deletes nothing', async () => {
    api().get('/v1/volumes').reply(200, envelope('volumes', [volumeObject({attached_to: [{uuid: UUID1, name: 'db'}]})]))
    const {stderr, exitCode} = await ukc(['volume', 'remove', '--all', ...TARGET])
    assert.equal(exitCode, 0)
    assert.equal(stderr, 'leaving 1 attached volume(s)\nno volumes to remove\n')
    assert.deepEqual(nock.pendingMocks(), [])
  })

  it('partial success: prints what was removed, reports the attached one and exits 5', async () => {
    api()
      .delete('/v1/volumes', [{name: 'pgdata'}, {name: 'held'}])
      .reply(200, {status: 'partial_success', message: 'one or more operations failed', data: {volumes: [{status: 'success', uuid: VOL_UUID, name: 'pgdata'}, failed('held', 15, 'volume is attached')]}})
    const {stdout, stderr, exitCode} = await ukc(['volume', 'remove', 'pgdata', 'held', ...TARGET])
    assert.equal(exitCode, 5)
    assert.equal(stderr, 'removing 2 volume(s)\nError: held: volume is attached\n')
    assert.match(stdout, /^pgdata\s/m)
    assert.doesNotMatch(stdout, /held/)
  })

  it('needs names or --all, not both (exit 2)', async () => {
    const neither = await ukc(['volume', 'remove', ...TARGET])
    assert.equal(neither.exitCode, 2)
    assert.equal(neither.stderr.split('\n')[0], 'Error: either specify a volume name or UUID, or use the --all flag')
    const both = await ukc(['volume', 'remove', 'pgdata', '--all', ...TARGET])
    assert.equal(both.exitCode, 2)
    assert.equal(both.stderr.split('\n')[0], 'Error: cannot specify volumes and use the --all flag')
  })
})

describe('volumes of instances', () => {
  afterEach(() => nock.cleanAll())

  it('instance create sends each --volume as {name|uuid, at, readonly}', async () => {
    const scope = api()
      .post('/v1/instances', (body) =>
        JSON.stringify(body.volumes) ===
        JSON.stringify([
          {name: 'pgdata', at: '/var/lib/postgresql/data', readonly: false},
          {uuid: VOL_UUID, at: '/config', readonly: true},
        ]))
      .reply(200, envelope('instances', [{status: 'success', uuid: UUID1, name: 'db', state: 'stopped'}]))
    api().get('/v1/instances').reply(200, envelope('instances', [instanceObject({name: 'db', service_group: undefined})]))
    const {exitCode} = await ukc(['instance', 'create', '-v', 'pgdata:/var/lib/postgresql/data', '--volume', `${VOL_UUID}:/config:ro`, 'postgres:16', ...TARGET])
    assert.equal(exitCode, 0)
    assert.ok(scope.isDone())
  })

  it('instance create: a --volume that does not exist exits 4 and says volumes must be created first', async () => {
    api().post('/v1/instances').reply(200, {status: 'error', message: 'Creation failed', data: {instances: [failed('db', 8, "volume 'pgdata' not found")]}})
    const item = await ukc(['instance', 'create', '--name', 'db', '-v', 'pgdata:/data', 'postgres:16', ...TARGET])
    assert.equal(item.exitCode, 4)
    assert.ok(
      item.stderr.endsWith(
        "Error: db: volume 'pgdata' not found\nTry: a volume given to `instance create --volume` must exist already: see `ukc volume list`, or create it with `ukc volume create --name NAME --size 512Mi`\n",
      ),
      item.stderr,
    )

    api().post('/v1/instances').reply(404, {status: 'error', message: 'No volume named pgdata'})
    const whole = await ukc(['instance', 'create', '-v', 'pgdata:/data', 'postgres:16', ...TARGET])
    assert.equal(whole.exitCode, 4)
    assert.match(whole.stderr, /^Try: a volume given to `instance create --volume` must exist already/m)
  })

  it('instance create: a not-found about something else (the image) gets no volume hint', async () => {
    api().post('/v1/instances').reply(200, {status: 'error', data: {instances: [failed('db', 8, 'image postgres:99 not found')]}})
    const {exitCode, stderr} = await ukc(['instance', 'create', '--name', 'db', '-v', 'pgdata:/data', 'postgres:99', ...TARGET])
    assert.equal(exitCode, 4)
    assert.ok(stderr.endsWith('Error: db: image postgres:99 not found\n'), stderr)
    assert.doesNotMatch(stderr, /Try:/)
  })

  it('instance create refuses a relative --volume path (exit 2, no API call)', async () => {
    const {exitCode, stderr} = await ukc(['instance', 'create', '-v', 'pgdata:data', 'postgres:16', ...TARGET])
    assert.equal(exitCode, 2)
    assert.equal(stderr.split('\n')[0], 'Error: invalid --volume mount path "data": expected an absolute path such as /data')
  })

  it('instance get shows VOLUMES as kraft: name:at[:ro], the UUID when there is no name', async () => {
    api()
      .get('/v1/instances', [{name: 'db'}])
      .reply(200, envelope('instances', [instanceObject({name: 'db', volumes: [{uuid: VOL_UUID, name: 'pgdata', at: '/data', readonly: false}, {uuid: UUID2, name: '', at: '/config', readonly: true}]})]))
    const {stdout} = await ukc(['instance', 'get', 'db', ...TARGET])
    assert.match(stdout, new RegExp(`^ +volumes: pgdata:/data\n +${UUID2}:/config:ro$`, 'm'))
  })

  it('quotas show whether volumes are enabled, how many are active, the space used and the size limits', async () => {
    const quota = (maxVolumeMb: number) => ({
      status: 'success',
      uuid: 'a1b2',
      used: {instances: 1, live_instances: 1, live_vcpus: 1, live_memory_mb: 128, service_groups: 0, services: 0, volumes: 3, total_volume_mb: 1536},
      hard: {instances: 16, live_vcpus: 8, live_memory_mb: 4096, service_groups: 253, services: 253, volumes: 253, total_volume_mb: 10240},
      limits: {min_memory_mb: 16, max_memory_mb: 2048, min_vcpus: 1, max_vcpus: 8, min_volume_mb: 1, max_volume_mb: maxVolumeMb, min_autoscale_size: 1, max_autoscale_size: 1},
    })
    api().get('/v1/users/quotas').reply(200, envelope('quotas', [quota(1024)]))
    const {stdout} = await ukc(['quotas', ...TARGET])
    assert.match(stdout, /^ +volumes: enabled\n +active volumes: 3\/253\n +used volume space: 1\.5 GiB\/10 GiB\nvolume size limits: 1\.0 MiB - 1\.0 GiB$/m)

    api().get('/v1/users/quotas').reply(200, envelope('quotas', [quota(0)]))
    const disabled = await ukc(['quotas', '-o', 'table', ...TARGET])
    assert.match(disabled.stdout, /^USER NAME .*\bVOLUMES\s+AUTOSCALE$/m)
    assert.doesNotMatch(disabled.stdout, /ACTIVE VOLUMES/)
    assert.match(disabled.stdout, /\bdisabled\s+disabled$/m)
  })
})
