// `ukc volume import` end to end: the real binary imports a directory through the emulated
// official/utils/volimport instance (via the gateway's TLS), then instances that mount the volume
// see the files — a user image that lists it, and nginx serving it. A stream that tries to leave the
// volume is refused; the auth never shows in a process's argv; the import instance is gone after a
// run, also after an interrupted one.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import tls from 'node:tls'
import {after, before, describe, it} from 'node:test'

import {UkcClient, firstOrThrow, createInstance, getVolumes, allOrThrow} from '../../src/api/index.js'
import type {Image, Instance} from '../../src/api/types.js'
import {readPlatformInfo} from '../../src/local/index.js'
import {hashToken, newCookie, publicAddress} from '../../src/tunnel/index.js'
import {ImportRefusedError, S_IFREG, type VolumeImportResult, encodeEntryStart, encodeTrailer, importVolume, runImportSession, volimportCreateRequest} from '../../src/volimport/index.js'
import {Cli, type Started, buildIfStale, until, viaGateway, viaPrivate} from './platform-harness.js'

/** A user image that serves, as JSON, every entry below `${VOLUME:/data}`: path, mode, link or content. */
const LISTER = `
const fs = require('node:fs'), http = require('node:http'), path = require('node:path')
const root = process.argv[1]
const walk = (dir, rel, out) => {
  for (const name of fs.readdirSync(dir).sort()) {
    const full = path.join(dir, name), at = rel ? rel + '/' + name : name, st = fs.lstatSync(full)
    const entry = {path: at, mode: (st.mode & 0o7777).toString(8)}
    if (st.isSymbolicLink()) entry.link = fs.readlinkSync(full)
    else if (st.isDirectory()) entry.dir = true
    else entry.content = fs.readFileSync(full, 'utf8')
    out.push(entry)
    if (entry.dir) walk(full, at, out)
  }
  return out
}
http.createServer((req, res) => res.end(JSON.stringify(walk(root, '', [])))).listen(Number(process.env.PORT), process.env.UKC_LISTEN_HOST)
`

/** /proc/<pid>/<file> ('' when the process is gone meanwhile). */
function readProc(pid: string, file: 'cmdline' | 'environ'): string {
  try {
    return fs.readFileSync(`/proc/${pid}/${file}`, 'utf8')
  } catch {
    return ''
  }
}

interface Listed {
  path: string
  mode: string
  link?: string
  dir?: boolean
  content?: string
}

describe('volume import, end to end', {timeout: 600_000}, () => {
  const cli = new Cli()
  let platform: Started
  let source: string
  let hasNginx = false

  const instances = async (): Promise<Instance[]> => cli.json<Instance[]>(['instance', 'list'], {as: 'alice'})
  const alice = (): UkcClient => new UkcClient({baseUrl: platform.url, token: platform.users.find((u) => u.name === 'alice')?.token ?? '', ca: cli.ca()})
  const reach = () => ({local: readPlatformInfo(cli.dataDir), ca: cli.ca()})

  before(async () => {
    await buildIfStale()
    platform = await cli.start()
    fs.writeFileSync(path.join(cli.dataDir, 'images.json'), JSON.stringify({'lister:latest': {command: [process.execPath, '-e', LISTER, '${VOLUME:/data}'], port: 8000}}))
    const images = await cli.json<Image[]>(['image', 'list', '--all'], {as: 'alice'})
    hasNginx = images.some((i) => i.tags?.some((tag) => tag.startsWith('nginx:')) && i.labels?.['ukc.available'] === 'true')

    source = path.join(cli.dir, 'site')
    fs.mkdirSync(path.join(source, 'docs/deep'), {recursive: true})
    fs.writeFileSync(path.join(source, 'index.html'), '<h1>imported by ukc</h1>\n')
    fs.writeFileSync(path.join(source, 'docs/deep/note.txt'), 'three levels down\n')
    fs.writeFileSync(path.join(source, 'docs/run.sh'), '#!/bin/sh\necho run\n')
    fs.chmodSync(path.join(source, 'docs/run.sh'), 0o755)
    fs.writeFileSync(path.join(source, 'docs/readonly.txt'), 'do not touch\n')
    fs.chmodSync(path.join(source, 'docs/readonly.txt'), 0o444)
    fs.symlinkSync('docs/deep/note.txt', path.join(source, 'latest.txt'))
  })
  after(async () => {
    await cli.cleanup()
  })

  it('imports a directory, deletes the import instance, and an instance that mounts the volume sees every file, link and mode', async () => {
    assert.equal((await cli.run(['volume', 'create', '--size', '16Mi', '--name', 'site'], {as: 'alice'})).code, 0)
    const run = await cli.run(['volume', 'import', '--volume', 'site', '--source', source], {as: 'alice'})
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stdout, /^Imported 4 files, 2 directories, 1 symlink \(\d+ B\) into site: [\d.]+ MiB free of [\d.]+ MiB\n$/)
    assert.match(run.stderr, /creating the import instance \(official\/utils\/volimport:latest\)/)
    assert.deepEqual(await instances(), [], 'the import instance is gone')
    const [volume] = await cli.json<Array<{state: string; attached_to?: unknown[]}>>(['volume', 'get', 'site'], {as: 'alice'})
    assert.equal(volume.state, 'available')

    const lister = (await cli.json<Instance[]>(['instance', 'create', '--name', 'lister', '-v', 'site:/data', '--start', '--wait', 'lister'], {as: 'alice', timeoutMs: 150_000}))[0]
    const listed = JSON.parse((await viaPrivate(String(lister.private_ip), 8000, '127.16.0.250')).body) as Listed[]
    assert.deepEqual(listed, [
      {path: 'docs', mode: '755', dir: true},
      {path: 'docs/deep', mode: '755', dir: true},
      {path: 'docs/deep/note.txt', mode: '644', content: 'three levels down\n'},
      {path: 'docs/readonly.txt', mode: '444', content: 'do not touch\n'},
      {path: 'docs/run.sh', mode: '755', content: '#!/bin/sh\necho run\n'},
      {path: 'index.html', mode: '644', content: '<h1>imported by ukc</h1>\n'},
      {path: 'latest.txt', mode: '777', link: 'docs/deep/note.txt'},
    ])
    assert.equal((await cli.run(['instance', 'remove', 'lister'], {as: 'alice'})).code, 0)
  })

  it('serves the imported files with nginx from the volume at /usr/share/nginx/html', async (t) => {
    if (!hasNginx) return t.skip('nginx is not installed on this host')
    const web = (await cli.json<Instance[]>(['instance', 'create', '--name', 'web', '-v', 'site:/usr/share/nginx/html', '-p', '443:8080', '--start', '--wait', 'nginx:1'], {as: 'alice', timeoutMs: 150_000}))[0]
    const fqdn = String(web.service_group?.domains?.[0]?.fqdn)
    const page = await viaGateway(fqdn, platform.gateway.ports['443'], cli.ca(), '/index.html')
    assert.deepEqual([page.status, page.body], [200, '<h1>imported by ukc</h1>\n'])
    const linked = await viaGateway(fqdn, platform.gateway.ports['443'], cli.ca(), '/latest.txt')
    assert.deepEqual([linked.status, linked.body], [200, 'three levels down\n'])
    assert.equal((await cli.run(['instance', 'remove', 'web'], {as: 'alice'})).code, 0)
  })

  it('refuses an entry that would leave the volume; the auth is in no argv; the instance goes away', async () => {
    assert.equal((await cli.run(['volume', 'create', '--size', '4Mi', '--name', 'target'], {as: 'alice'})).code, 0)
    const api = alice()
    const [volume] = allOrThrow(await getVolumes(api, ['target']))
    const auth = newCookie()
    const created = firstOrThrow(await createInstance(api, volimportCreateRequest({image: 'official/utils/volimport:latest', volumeUuid: volume.uuid, auth, timeoutS: 60})))
    await until('the import instance to run', async () => ((await cli.json<Instance[]>(['instance', 'get', created.uuid], {as: 'alice'}))[0].state === 'running' ? true : undefined), 60_000)

    const argvs = fs.readdirSync('/proc').filter((pid) => /^\d+$/.test(pid)).map((pid) => readProc(pid, 'cmdline').replaceAll('\0', ' '))
    assert.ok(argvs.some((argv) => argv.includes('utils-volimport.mjs')), 'the import program runs')
    assert.ok(!argvs.some((argv) => argv.includes(auth)), 'no process carries the auth in its argv')
    const importer = fs.readdirSync('/proc').find((pid) => /^\d+$/.test(pid) && readProc(pid, 'environ').includes(`UKC_INSTANCE_UUID=${created.uuid}`))
    const environ = readProc(String(importer), 'environ').split('\0')
    assert.ok(environ.includes(`UKC_VOLIMPORT_AUTH_SHA256=${hashToken(auth)}`), 'the program gets the digest')
    assert.ok(!environ.some((entry) => entry.includes(auth)), 'and not the auth itself')

    const fqdn = String(created.service_group?.domains?.[0]?.fqdn)
    const {host, port} = publicAddress(reach(), fqdn, 42069)
    const socket = tls.connect({host, port, servername: fqdn, ca: cli.ca()})
    await new Promise((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject))
    const escape = Buffer.concat([encodeEntryStart({ino: 1, mode: S_IFREG | 0o644, uid: 0, gid: 0, nlink: 1, mtime: 0, size: 3}, '../escaped'), Buffer.from('bad')])
    await assert.rejects(
      runImportSession({socket, auth, chunks: (async function* () {
        yield escape
        yield encodeTrailer()
      })(), totalBytes: escape.length, force: false, warn: () => undefined}),
      (error: Error) => error instanceof ImportRefusedError && error.message === 'transmission failed: ../escaped: a path with .. would leave the volume',
    )
    socket.destroy()
    const volumeDir = path.join(cli.dataDir, 'volumes', volume.uuid)
    assert.ok(!fs.existsSync(path.join(volumeDir, 'escaped')), 'nothing was written next to the volume')
    await until('the failed import instance to be deleted (delete-on-stop)', async () => ((await instances()).length === 0 ? true : undefined), 60_000)
  })

  it('deletes the import instance when the run is interrupted mid-stream', async () => {
    const big = path.join(cli.dir, 'big')
    fs.mkdirSync(big)
    fs.writeFileSync(path.join(big, 'blob'), Buffer.alloc(2 * 1024 * 1024, 1))
    const stop = new AbortController()
    const cleanups: Array<() => Promise<unknown>> = []
    await assert.rejects(
      importVolume({
        api: alice(),
        reach: reach(),
        volume: 'target',
        source: big,
        image: 'official/utils/volimport:latest',
        force: false,
        timeoutS: 60,
        signal: stop.signal,
        onForcedExit: (cleanup) => cleanups.push(cleanup),
        phase: () => undefined,
        onProgress: () => stop.abort('SIGINT'), // Ctrl-C as soon as bytes flow
        warn: () => undefined,
      }),
      (error: Error & {exitCode?: number}) => error.message === 'interrupted: the import did not finish' && error.exitCode === 130,
    )
    assert.equal(cleanups.length, 1, 'a forced exit would still delete the instance')
    assert.deepEqual(await instances(), [], 'the import instance is gone when the interrupted run returns')
  })

  it('prints the typed result with --json', async () => {
    const run = await cli.json<VolumeImportResult>(['volume', 'import', '--volume', 'target', '--source', source], {as: 'alice'})
    assert.deepEqual({files: run.files, directories: run.directories, symlinks: run.symlinks, skipped: run.skipped, volume: run.volume.name}, {files: 4, directories: 2, symlinks: 1, skipped: 0, volume: 'target'})
    assert.ok(run.total_bytes > 0 && run.free_bytes < run.total_bytes)
  })
})
