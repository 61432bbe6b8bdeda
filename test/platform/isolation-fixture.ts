// Shared by the isolation tests: when they can run, the probe image (isolation-probe.mjs, installed
// where any uid may read it) and asking a probe instance to try something.
import {spawn, spawnSync} from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

/** The reason to skip tests of the kernel's isolation here, or false. */
export function kernelIsolationSkip(): string | false {
  if (process.getuid?.() !== 0) return 'per-user uids and nftables need root'
  if (spawnSync('nft', ['list', 'tables']).status !== 0) return 'nftables is not usable here (apt-get install nftables)'
  return false
}

/** Copies the probe program into `dir` (0644) and registers it as `probe:latest` in the data dir's images.json. */
export function installProbe(dir: string, dataDir: string): void {
  const program = path.join(dir, 'probe.mjs')
  fs.copyFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), 'isolation-probe.mjs'), program)
  fs.chmodSync(program, 0o644)
  fs.writeFileSync(path.join(dataDir, 'images.json'), JSON.stringify({'probe:latest': {command: [process.execPath, program], port: 8080}}))
}

export interface Attempt {
  ok: boolean
  code?: string
  data?: unknown
}

export type Request =
  | {op: 'list' | 'read'; path: string}
  | {op: 'signal'; pid: number; signal: NodeJS.Signals}
  | {op: 'connect' | 'http'; host: string; port: number; localAddress?: string}
  | {op: 'pg'; socket: string}

/** Has the probe instance listening at `probeIp:8080` try `request` (from the host, through its private endpoint). */
export function attempt(probeIp: string, request: Request): Promise<Attempt> {
  return new Promise((resolve, reject) => {
    const req = http.request({host: probeIp, port: 8080, method: 'POST', agent: false}, (response) => {
      let body = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => (body += chunk))
      response.on('end', () => resolve(JSON.parse(body) as Attempt))
    })
    req.on('error', reject)
    req.end(JSON.stringify(request))
  })
}

/** What a process of `uid` gets when it connects to `host:port`: `connected` or the error code. */
export function connectAs(uid: number, host: string, port: number): Promise<string> {
  const script = `require('net').connect({host: ${JSON.stringify(host)}, port: ${port}})
    .on('connect', function () { console.log('connected'); this.destroy() })
    .on('error', (error) => console.log(error.code))`
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], {uid, gid: uid, stdio: ['ignore', 'pipe', 'inherit']})
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
    child.once('error', reject)
    child.once('close', () => resolve(out.trim()))
  })
}
