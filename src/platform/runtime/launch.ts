// What an image needs to start one instance, and what it answers: the command to run.
import type {VolumeMount} from '../volumes/index.js'
import type {RunAs} from './identity.js'

export interface LaunchContext {
  uuid: string
  name: string
  /** The instance's own directory for application files (owned by the instance identity). */
  dataDir: string
  /** Backend IP the process must bind (UKC_LISTEN_HOST). */
  listenHost: string
  /** Port the image's main port is served on by the process (see ports.ts for ports < 1024). */
  port: number
  /** Environment the process gets (platform variables and the instance's env). */
  env: Record<string, string>
  args: string[]
  runAs?: RunAs
  /** The instance's volumes, mounted (see volumes/guest-paths.ts for how paths map to them). */
  volumes: VolumeMount[]
  /**
   * The host directory that stands for `guestPath` inside the instance: on the volume that covers
   * it, else below the instance's data dir (created, owned by the instance identity).
   */
  guestDir(guestPath: string): string
  /** Appends a line to the instance's console log (prepare steps report there). */
  console: (text: string) => void
}

export interface LaunchPlan {
  command: string
  args: string[]
  /** Signal for a graceful stop (Postgres: SIGINT = fast shutdown; SIGTERM would wait for clients). */
  stopSignal: NodeJS.Signals
  /** Replaces the TCP probe of the backend port when set. */
  ready?: () => boolean
}

/** A launch that failed for a reason the user must fix (shown as the start error and in the log). */
export class LaunchError extends Error {}
