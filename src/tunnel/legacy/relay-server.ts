// An emulation of the official relay (`official/utils/tunnel`) for the embedded platform, from its
// args alone: a listener per exposed port and one for the control port. A data connection presents the
// cookie (checked in constant time, within AUTH_TIMEOUT), gets int16 LE 1 once its target is connected
// (0 when the forward's budget is used up, -1 when the target cannot be reached), then bytes flow both
// ways with half-close. The control connection presents the cookie, then heartbeats; when none came
// for EVS_TIMEOUT the relay reports 'heartbeat-lost' (its program then exits 0).
import crypto from 'node:crypto'
import {EventEmitter} from 'node:events'
import net from 'node:net'

import {resolveInternal} from '../../local/index.js'
import {HEARTBEAT, type LegacyRelayArgs, encodeStatus} from './protocol.js'

export interface LegacyRelayOptions {
  /** Listen address (UKC_LISTEN_HOST). */
  host: string
  /** More ports that act as control ports (the platform probes the image's port for readiness). */
  extraControlPorts?: number[]
  /** Source address for target connections (UKC_PRIVATE_IP). */
  localAddress?: string
  /** hosts-format file for `*.internal` names (UKC_HOSTS_FILE). */
  hostsFile?: string
  /** Overrides EVS_TIMEOUT (tests). */
  controlTimeoutMs?: number
  log: (line: string) => void
}

type Forward = LegacyRelayArgs['forwards'][number]

export class LegacyRelayServer extends EventEmitter<{'heartbeat-lost': []}> {
  private readonly servers: net.Server[] = []
  private readonly sockets = new Set<net.Socket>()
  private readonly active = new Map<Forward, number>()
  private readonly cookie: Buffer
  private heartbeatTimer?: NodeJS.Timeout

  constructor(
    private readonly config: LegacyRelayArgs,
    private readonly options: LegacyRelayOptions,
  ) {
    super()
    this.cookie = Buffer.from(config.cookie)
  }

  /** Binds every port; returns the bound ports (exposed ports in order, then control ports). */
  async listen(): Promise<number[]> {
    const bound: number[] = []
    for (const forward of this.config.forwards) bound.push(await this.listenOn(forward.exposedPort, (socket) => this.onData(socket, forward)))
    const controlPorts = [this.config.controlPort, ...(this.options.extraControlPorts ?? [])]
    for (const port of [...new Set(controlPorts)]) {
      if (port !== 0 && this.config.forwards.some((f) => f.exposedPort === port)) continue
      bound.push(await this.listenOn(port, (socket) => this.onControl(socket)))
    }
    this.armHeartbeat()
    this.options.log(`relay listening on ${this.options.host} ports ${bound.join(', ')}; ${this.config.forwards.map((f) => `${f.exposedPort} -> ${f.host}:${f.destPort}`).join(', ')}`)
    return bound
  }

  async close(): Promise<void> {
    clearTimeout(this.heartbeatTimer)
    for (const socket of this.sockets) socket.destroy()
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
  }

  private async listenOn(port: number, handler: (socket: net.Socket) => void): Promise<number> {
    const server = net.createServer({allowHalfOpen: true, noDelay: true}, (socket) => {
      this.sockets.add(socket)
      socket.once('close', () => this.sockets.delete(socket))
      socket.on('error', () => undefined)
      handler(socket)
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen({host: this.options.host, port}, () => {
        server.off('error', reject)
        resolve()
      })
    })
    this.servers.push(server)
    return (server.address() as net.AddressInfo).port
  }

  private armHeartbeat(): void {
    clearTimeout(this.heartbeatTimer)
    const timeoutMs = this.options.controlTimeoutMs ?? this.config.evsTimeoutS * 1000
    this.heartbeatTimer = setTimeout(() => {
      this.options.log(`no heartbeat for ${timeoutMs / 1000} s: stopping`)
      this.emit('heartbeat-lost')
    }, timeoutMs)
  }

  /** Reads the cookie within `timeoutS`; resolves with what came after it, or undefined (socket destroyed). */
  private authenticate(socket: net.Socket, timeoutS: number, what: string): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      let received = Buffer.alloc(0)
      const finish = (rest: Buffer | undefined, why?: string): void => {
        clearTimeout(timer)
        socket.off('data', onData).off('end', onEnd)
        if (rest) {
          socket.pause()
        } else {
          if (why) this.options.log(`${what} from ${socket.remoteAddress ?? '?'}: ${why}`)
          socket.destroy()
        }
        resolve(rest)
      }
      const onData = (chunk: Buffer): void => {
        received = Buffer.concat([received, chunk])
        if (received.length < this.cookie.length) return
        // Both buffers have the cookie's length, so the comparison time says nothing about the cookie.
        const ok = crypto.timingSafeEqual(received.subarray(0, this.cookie.length), this.cookie)
        finish(ok ? received.subarray(this.cookie.length) : undefined, ok ? undefined : 'wrong cookie')
      }
      const onEnd = (): void => finish(undefined, 'closed before the cookie')
      const timer = setTimeout(() => finish(undefined, `no cookie within ${timeoutS} s`), timeoutS * 1000)
      socket.on('data', onData).once('end', onEnd)
    })
  }

  private onControl(socket: net.Socket): void {
    void this.authenticate(socket, this.config.controlAuthTimeoutS, 'control connection').then((rest) => {
      if (!rest) return
      let pending = Buffer.alloc(0)
      const onData = (chunk: Buffer): void => {
        pending = Buffer.concat([pending, chunk])
        while (pending.length >= HEARTBEAT.length) {
          if (!pending.subarray(0, HEARTBEAT.length).equals(HEARTBEAT)) {
            this.options.log('control connection: not a heartbeat; closing it')
            socket.destroy()
            return
          }
          pending = pending.subarray(HEARTBEAT.length)
          this.armHeartbeat()
        }
      }
      socket.on('data', onData).once('end', () => socket.end())
      onData(rest)
      socket.resume()
    })
  }

  private onData(client: net.Socket, forward: Forward): void {
    void this.authenticate(client, this.config.authTimeoutS, `connection on ${forward.exposedPort}`).then((rest) => {
      if (!rest) return
      const active = this.active.get(forward) ?? 0
      if (active >= forward.budget) {
        this.options.log(`connection on ${forward.exposedPort}: all ${forward.budget} connections to ${forward.host}:${forward.destPort} in use`)
        client.end(encodeStatus(0))
        return
      }
      this.active.set(forward, active + 1)
      client.once('close', () => this.active.set(forward, (this.active.get(forward) ?? 1) - 1))
      const address = this.addressOf(forward.host)
      if (!address) {
        this.options.log(`connection on ${forward.exposedPort}: cannot resolve ${forward.host}`)
        client.end(encodeStatus(-1))
        return
      }
      const target = net.connect({host: address, port: forward.destPort, localAddress: this.options.localAddress, allowHalfOpen: true, noDelay: true})
      this.sockets.add(target)
      target.once('close', () => this.sockets.delete(target))
      let piped = false
      target.once('error', (error) => {
        this.options.log(`connection on ${forward.exposedPort} to ${forward.host}:${forward.destPort}: ${error.message}`)
        if (piped) client.destroy()
        else client.end(encodeStatus(-1))
      })
      target.once('connect', () => {
        piped = true
        client.write(encodeStatus(1))
        if (rest.length > 0) target.write(rest)
        client.pipe(target)
        target.pipe(client)
        client.once('error', () => target.destroy())
        client.once('close', () => (target.writableEnded ? target.destroySoon() : target.destroy()))
        target.once('close', () => (client.writableEnded ? client.destroySoon() : client.destroy()))
        client.resume()
      })
    })
  }

  private addressOf(host: string): string | undefined {
    if (net.isIP(host)) return host
    if (host.endsWith('.internal') && this.options.hostsFile) return resolveInternal(this.options.hostsFile, host)
    return host
  }
}
