// When a booting instance counts as running: its backend port accepts a TCP connection (or an
// image-specific check passes). Polled every few milliseconds so boot_time_us stays honest.
import net from 'node:net'
import {setTimeout as delay} from 'node:timers/promises'

const POLL_MS = 3

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({host, port})
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

export interface ReadinessOptions {
  host: string
  port: number
  /** Replaces the port probe when set (e.g. Postgres: postmaster.pid says `ready`). */
  check?: () => boolean
  signal: AbortSignal
}

/** Resolves once ready; rejects with the signal's reason when aborted (process exited, stop). */
export async function waitUntilReady(options: ReadinessOptions): Promise<void> {
  const {host, port, check, signal} = options
  while (true) {
    signal.throwIfAborted()
    if (check ? check() : await accepts(host, port)) return
    signal.throwIfAborted()
    await delay(POLL_MS, undefined, {signal})
  }
}
