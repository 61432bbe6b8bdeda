// The volimport protocol (`official/utils/volimport`, kraft's `volume import`), what both ends need:
// the image's args, the server's replies and the volume figures they carry. The stream the client
// sends is in newc.ts; the whole exchange is described in docs/volume-import.md:
//
//   client → auth (the -a string, raw bytes)        server → Stats(free, total, maxlen)  or errors + End
//   client → per entry: newc header, name + NUL, content (no padding)   server → Ack per entry
//   client → trailer entry (TRAILER!!!)             server → Stats(free, total, maxlen)  (the stop reply)
//   client → auth again (the "term signal"), then closes
//
// A reply is an int32 status and a uint32 length (little-endian), then that many bytes:
// 1 = Ack (no payload), 2 = Stats (24 bytes: three uint64), < 0 = an error message (NUL-terminated,
// more may follow), 0 = End (after errors: the end of them; kraft also reads a payload there as Stats).

export const VOLIMPORT_PORT = 42069
export const VOLIMPORT_IMAGE = 'official/utils/volimport:latest'
/** kraft's request: 128 MiB, and the API waits this long for it to run. */
export const VOLIMPORT_MEMORY_MB = 128
export const VOLIMPORT_WAIT_TIMEOUT_MS = 3000
/** kraft's default for -t: the server gives up after this many seconds without data. */
export const DEFAULT_TIMEOUT_S = 10
/** The longest entry name (with its NUL) the emulated server takes: Linux's PATH_MAX. */
export const MAX_NAME_SIZE = 4096
/** kraft sends content in pieces of this size ("what volimport reads on one socket read"). */
export const CHUNK_SIZE = 64 * 1024

export const ReplyStatus = {End: 0, Ack: 1, Stats: 2, Error: -1} as const

const HEADER_SIZE = 8
const STATS_SIZE = 24

/** What the server says about the volume, at the start and at the end of an import. */
export interface VolumeSpace {
  free: number
  total: number
  /** The longest name the server accepts (kraft reads it and does not use it). */
  maxNameSize: number
}

export interface Reply {
  status: number
  payload: Buffer
}

function reply(status: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(HEADER_SIZE)
  header.writeInt32LE(status, 0)
  header.writeUInt32LE(payload.length, 4)
  return Buffer.concat([header, payload])
}

export function encodeAck(): Buffer {
  return reply(ReplyStatus.Ack)
}

export function encodeStats(space: VolumeSpace): Buffer {
  const payload = Buffer.alloc(STATS_SIZE)
  payload.writeBigUInt64LE(BigInt(Math.max(0, Math.floor(space.free))), 0)
  payload.writeBigUInt64LE(BigInt(Math.max(0, Math.floor(space.total))), 8)
  payload.writeBigUInt64LE(BigInt(space.maxNameSize), 16)
  return reply(ReplyStatus.Stats, payload)
}

/** One error, then End: what kraft's client reads as "<its context>: <message>". */
export function encodeFailure(message: string): Buffer {
  return Buffer.concat([reply(ReplyStatus.Error, Buffer.from(`${message}\n\0`, 'utf8')), reply(ReplyStatus.End)])
}

/** A Stats payload; throws when it is not 24 bytes. */
export function decodeStats(payload: Buffer): VolumeSpace {
  if (payload.length !== STATS_SIZE) throw new Error(`a volume figures reply has ${STATS_SIZE} bytes, got ${payload.length}`)
  return {free: Number(payload.readBigUInt64LE(0)), total: Number(payload.readBigUInt64LE(8)), maxNameSize: Number(payload.readBigUInt64LE(16))}
}

/** An error reply's text: NUL and trailing newline removed. */
export function errorText(payload: Buffer): string {
  return payload.toString('utf8').replace(/\0+$/, '').replace(/\n+$/, '')
}

/** Splits the server's byte stream into replies (a reply may arrive in pieces). */
export class ReplyReader {
  private buffered: Buffer = Buffer.alloc(0)

  push(chunk: Buffer): Reply[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk])
    const replies: Reply[] = []
    while (this.buffered.length >= HEADER_SIZE) {
      const status = this.buffered.readInt32LE(0)
      // kraft does not read a length after an Ack.
      const length = status === ReplyStatus.Ack ? 0 : this.buffered.readUInt32LE(4)
      if (this.buffered.length < HEADER_SIZE + length) break
      replies.push({status, payload: Buffer.from(this.buffered.subarray(HEADER_SIZE, HEADER_SIZE + length))})
      this.buffered = this.buffered.subarray(HEADER_SIZE + length)
    }
    return replies
  }
}

export interface VolimportArgs {
  port: number
  /** The shared secret the client presents first (kraft: 32 characters from [0-9A-Za-z]). */
  auth?: string
  /** Seconds without data before the server gives up. */
  timeoutS: number
}

/** kraft's args: `-p 42069 -a <auth> -t <timeout>`. */
export function volimportArgs(options: {auth: string; timeoutS: number; port?: number}): string[] {
  return ['-p', String(options.port ?? VOLIMPORT_PORT), '-a', options.auth, '-t', String(options.timeoutS)]
}

/** The server side of volimportArgs; throws with a one-line reason. */
export function parseVolimportArgs(argv: readonly string[]): VolimportArgs {
  const parsed: VolimportArgs = {port: VOLIMPORT_PORT, timeoutS: DEFAULT_TIMEOUT_S}
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]]
    if (value === undefined) throw new Error(`${flag} needs a value`)
    if (flag === '-p') {
      const port = Number(value)
      if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new Error(`-p ${value}: not a port`)
      parsed.port = port
    } else if (flag === '-a') {
      if (value === '') throw new Error('-a: the auth string is empty')
      parsed.auth = value
    } else if (flag === '-t') {
      const seconds = Number(value)
      if (!Number.isInteger(seconds) || seconds < 1) throw new Error(`-t ${value}: not a number of seconds`)
      parsed.timeoutS = seconds
    } else {
      throw new Error(`unknown argument ${flag} (expected -p PORT -a AUTH -t SECONDS)`)
    }
  }
  return parsed
}
