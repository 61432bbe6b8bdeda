// `nginx:*`: the host's nginx serving the official image's root, /usr/share/nginx/html: a volume
// mounted there (or above), else the instance's data dir (html/, with a default page). The
// configuration is generated per instance (listen on the backend IP, pid and temp files in the
// instance dir, errors to the console).
import fs from 'node:fs'
import path from 'node:path'

import {requireBinary} from '../host-binaries.js'
import type {LaunchContext, LaunchPlan} from '../launch.js'
import {giveTo} from '../identity.js'
import {volumePathOf} from '../../volumes/index.js'

export const NGINX_PORT = 8080
/** The official image's document root. */
export const NGINX_ROOT = '/usr/share/nginx/html'

export function nginxBinaries(image: string): string {
  return requireBinary('nginx', 'nginx', image)
}

function mkdirOwned(dir: string, context: LaunchContext): void {
  fs.mkdirSync(dir, {recursive: true})
  giveTo(context.runAs, dir)
}

export async function launchNginx(image: string, context: LaunchContext): Promise<LaunchPlan> {
  const binary = nginxBinaries(image)
  const root = path.join(context.dataDir, 'nginx')
  const onVolume = volumePathOf(context.volumes, NGINX_ROOT)
  const html = onVolume ?? path.join(context.dataDir, 'html')
  for (const dir of [root, path.join(root, 'tmp'), path.join(root, 'logs'), ...(onVolume ? [] : [html])]) mkdirOwned(dir, context)
  const index = path.join(html, 'index.html')
  // A volume's content is the user's: nothing is written into it.
  if (!onVolume && !fs.existsSync(index)) {
    fs.writeFileSync(index, `<!doctype html>\n<title>Welcome to nginx</title>\n<h1>Welcome to nginx on ${context.name}</h1>\n`)
    giveTo(context.runAs, index)
  }
  const mime = fs.existsSync('/etc/nginx/mime.types') ? 'include /etc/nginx/mime.types;' : ''
  const tmp = path.join(root, 'tmp')
  const conf = [
    'daemon off;',
    'worker_processes 1;',
    `pid ${path.join(root, 'nginx.pid')};`,
    'error_log stderr;',
    'events { worker_connections 1024; }',
    'http {',
    `  ${mime}`,
    `  access_log ${path.join(root, 'logs', 'access.log')};`,
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${path.join(tmp, kind)};`),
    '  server {',
    `    listen ${context.listenHost}:${context.port};`,
    `    root ${html};`,
    '    index index.html;',
    '  }',
    '}',
    '',
  ].join('\n')
  const confFile = path.join(root, 'nginx.conf')
  fs.writeFileSync(confFile, conf)
  giveTo(context.runAs, confFile)
  return {command: binary, args: ['-e', 'stderr', '-p', root, '-c', confFile, ...context.args], stopSignal: 'SIGTERM'}
}
