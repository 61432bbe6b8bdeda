// What an instance process is given: its data dir (HOME and cwd, owned by the instance identity, 0700)
// and its environment — image defaults, then the instance's env, then the platform's variables
// (which win, so PORT and UKC_LISTEN_HOST always say where to listen).
import fs from 'node:fs'
import path from 'node:path'

import type {InstanceRecord} from '../types.js'
import {type VolumeMount, volumeEnvironment, volumePathOf} from '../volumes/index.js'
import type {ResolvedImage} from './catalog.js'
import {giveTo, giveTreeTo, makeReadableDir, type RunAs} from './identity.js'
import type {LaunchContext} from './launch.js'
import {backendPort} from './ports.js'

/** The instance dir (the platform's, 0750 to the instance's group) and its data dir (the instance's, 0700). */
function dataDirIn(instanceDir: string, runAs: RunAs | undefined): string {
  makeReadableDir(runAs, instanceDir)
  const dir = path.join(instanceDir, 'data')
  if (fs.existsSync(dir)) {
    giveTreeTo(runAs, dir) // made under an earlier identity (nobody, or another uid block)
  } else {
    fs.mkdirSync(dir, {mode: 0o700})
    giveTo(runAs, dir)
  }
  fs.chmodSync(dir, 0o700)
  return dir
}

export interface InstancePlace {
  /** `<dataDir>/instances/<uuid>`. */
  instanceDir: string
  /** The user's `.internal` names. */
  hostsFile: string
  /** Who the process runs as (the identity policy's answer for the instance's user). */
  runAs: RunAs | undefined
  /** Appends to the instance's console log. */
  console: (text: string) => void
  /** Mounts the instance's volumes (before each boot); rejects with the reason one cannot be. */
  mountVolumes: () => Promise<VolumeMount[]>
}

/** A path of the instance's own for `guestPath` when no volume covers it: `<data>/rootfs/<path>`. */
function ownDir(dataDir: string, guestPath: string, runAs: RunAs | undefined): string {
  let dir = path.join(dataDir, 'rootfs')
  for (const part of ['', ...guestPath.split('/').filter(Boolean)]) {
    dir = path.join(dir, part)
    if (fs.existsSync(dir)) continue
    fs.mkdirSync(dir, {mode: 0o700})
    giveTo(runAs, dir)
  }
  return dir
}

export function launchContextOf(record: InstanceRecord, image: ResolvedImage, place: InstancePlace, volumes: VolumeMount[]): LaunchContext {
  const dataDir = dataDirIn(place.instanceDir, place.runAs)
  const port = backendPort(image.ports[0])
  // The daemon's own environment (which may hold a token) is not passed on.
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    LANG: process.env.LANG ?? 'C.UTF-8',
    HOME: dataDir,
    ...image.env,
    ...record.env,
    PORT: String(port),
    UKC_LISTEN_HOST: record.backend_ip,
    UKC_PRIVATE_IP: record.private_ip,
    UKC_PRIVATE_FQDN: `${record.name}.internal`,
    UKC_INSTANCE_NAME: record.name,
    UKC_INSTANCE_UUID: record.uuid,
    UKC_METRO: 'local',
    UKC_HOSTS_FILE: place.hostsFile,
    ...volumeEnvironment(volumes),
  }
  const guestDir = (guestPath: string): string => volumePathOf(volumes, guestPath) ?? ownDir(dataDir, guestPath, place.runAs)
  return {uuid: record.uuid, name: record.name, dataDir, listenHost: record.backend_ip, port, env, args: record.args, runAs: place.runAs, volumes, guestDir, console: place.console}
}
