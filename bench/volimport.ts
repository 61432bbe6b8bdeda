// `npm run bench:volimport`: `volume import` on the embedded platform, for one 64 MiB file and for
// 2,000 files of 4 KiB in 20 directories. Measured: the stream phase of the run the command makes
// (TLS through the gateway to the import instance, which unpacks into the volume), and the whole run
// (scan, create the import instance, wait, stream, delete). Anchor in the same run: the same bytes
// (wireChunks of the same tree) sent over TLS through the same gateway to an instance that reads and
// drops them — the network path without the protocol, the unpacking and the disk. Goals: stream /
// anchor ≤ 3 for the bulk file, ≤ 10 for small files (each entry is an lstat-checked create, a
// chmod, a utimes and an Ack). Bounded: ROUNDS runs per case.
import {once} from 'node:events'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import tls from 'node:tls'
import {pathToFileURL} from 'node:url'

import {UkcClient, createInstance, createVolume, deleteInstances, deleteVolumes, firstOrThrow, waitInstances} from '../src/api/index.js'
import type {PlatformInfo} from '../src/local/index.js'
import {publicAddress} from '../src/tunnel/index.js'
import {importVolume, scanSource, wireChunks} from '../src/volimport/index.js'

const ROUNDS = 3
const MiB = 1024 * 1024
const SINK_PORT = 9100
/** The anchor's instance: reads everything, answers `done` when the client half-closes. */
const SINK = `require('node:net').createServer((s) => { s.resume(); s.on('end', () => s.end('done')) }).listen(Number(process.env.PORT), process.env.UKC_LISTEN_HOST)`

type Control = typeof import('../src/local/control.js')

/** The compiled daemon when there is one (what users run), else the sources through tsx. */
async function control(): Promise<Control> {
  const compiled = path.resolve('dist/local/control.js')
  if (fs.existsSync(compiled)) return (await import(pathToFileURL(compiled).href)) as Control
  process.stderr.write('note: dist/ is missing; the platform and built-in images run through tsx (run `npm run build` first)\n')
  return import('../src/local/control.js')
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor((sorted.length - 1) / 2)] as number
}

function bulkTree(dir: string): void {
  fs.mkdirSync(dir, {recursive: true})
  fs.writeFileSync(path.join(dir, 'blob.bin'), Buffer.alloc(64 * MiB, 0x5a))
}

function smallFilesTree(dir: string): void {
  for (let d = 0; d < 20; d++) {
    const sub = path.join(dir, `dir${d}`)
    fs.mkdirSync(sub, {recursive: true})
    for (let f = 0; f < 100; f++) fs.writeFileSync(path.join(sub, `file${f}.txt`), Buffer.alloc(4096, 0x61 + (f % 26)))
  }
}

interface ImportTimes {
  stream: number
  whole: number
}

async function timeImport(client: UkcClient, info: PlatformInfo, ca: string, source: string, sizeMb: number): Promise<ImportTimes> {
  const volume = firstOrThrow(await createVolume(client, {size_mb: sizeMb}))
  try {
    let streamStart = 0
    let streamEnd = 0
    const started = performance.now()
    await importVolume({
      api: client,
      reach: {local: info, ca},
      volume: volume.uuid,
      source,
      image: 'official/utils/volimport:latest',
      force: false,
      timeoutS: 30,
      signal: new AbortController().signal,
      onForcedExit: () => undefined,
      phase: (text) => {
        if (text.startsWith('importing')) streamStart = performance.now()
        if (text.startsWith('deleting')) streamEnd = performance.now()
      },
      warn: (line) => process.stderr.write(`${line}\n`),
    })
    return {stream: streamEnd - streamStart, whole: performance.now() - started}
  } finally {
    await deleteVolumes(client, [volume.uuid])
  }
}

/** The anchor: the tree's wire bytes over TLS through the gateway to the sink instance. */
async function timeSink(info: PlatformInfo, ca: string, fqdn: string, source: string): Promise<number> {
  const tree = await scanSource(source)
  const {host, port} = publicAddress({local: info, ca}, fqdn, SINK_PORT)
  const started = performance.now()
  const socket = tls.connect({host, port, servername: fqdn, ca})
  await once(socket, 'secureConnect')
  const answered = once(socket, 'data')
  for await (const chunk of wireChunks(tree)) if (!socket.write(chunk)) await once(socket, 'drain')
  socket.end()
  await answered
  const elapsed = performance.now() - started
  socket.destroy()
  return elapsed
}

async function main(): Promise<void> {
  const {ensurePlatform, stopPlatform} = await control()
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-bench-volimport-'))
  fs.chmodSync(scratch, 0o755)
  const dataDir = path.join(scratch, 'platform')
  const info = await ensurePlatform({dataDir, apiPort: 0, gatewayPort: 0, users: ['bench']})
  const ca = fs.readFileSync(info.ca, 'utf8')
  const client = new UkcClient({baseUrl: info.url, token: info.users[0]?.token ?? '', ca})
  const lines: string[] = []
  fs.writeFileSync(path.join(dataDir, 'images.json'), JSON.stringify({'sink:latest': {command: [process.execPath, '-e', SINK], port: SINK_PORT}}))
  const sink = firstOrThrow(
    await createInstance(client, {image: 'sink', service_group: {services: [{port: SINK_PORT, destination_port: SINK_PORT, handlers: ['tls']}]}, autostart: true, wait_timeout_ms: 3000}),
  )
  try {
    await waitInstances(client, [sink.uuid], 'running', 30_000)
    const fqdn = String(sink.service_group?.domains?.[0]?.fqdn)
    const cases = [
      {label: 'one 64 MiB file', make: bulkTree, goal: 3},
      {label: '2000 × 4 KiB files in 20 dirs', make: smallFilesTree, goal: 10},
    ]
    for (const {label, make, goal} of cases) {
      const source = fs.mkdtempSync(path.join(scratch, 'source-'))
      make(source)
      const streams: number[] = []
      const wholes: number[] = []
      const anchors: number[] = []
      for (let round = 0; round < ROUNDS; round++) {
        anchors.push(await timeSink(info, ca, fqdn, source))
        const times = await timeImport(client, info, ca, source, 128)
        streams.push(times.stream)
        wholes.push(times.whole)
      }
      const [stream, whole, anchor] = [median(streams), median(wholes), median(anchors)]
      lines.push(`${label}: import stream ${stream.toFixed(0)} ms (whole run ${whole.toFixed(0)} ms), anchor (same bytes to a sink through the gateway) ${anchor.toFixed(0)} ms, stream / anchor ${(stream / anchor).toFixed(1)}   (goal ≤ ${goal}; median of ${ROUNDS})`)
    }
  } finally {
    await deleteInstances(client, [sink.uuid]).catch(() => undefined)
    await stopPlatform(dataDir)
    fs.rmSync(scratch, {recursive: true, force: true})
  }
  process.stdout.write(`${lines.join('\n')}\n`)
}

await main()
