// A tunnel session spoken frame by frame, as a client that does whatever it likes would: for tests of
// what the relay refuses (stream caps, reused ids, windows, credit) that `ukc tunnel` never does.
import WebSocket from 'ws'

import {SUBPROTOCOL, decodeFrame, encodeData, encodeOpen, encodeRst} from '../../src/tunnel/protocol.js'
import {waitFor} from './harness.js'

export class RawSession {
  /** Stream id → the relay's RST (code, message). */
  readonly resets = new Map<number, {code: number; message: string}>()
  /** Stream id → credit the relay granted with WINDOW frames. */
  readonly credit = new Map<number, number>()
  closeCode?: number
  closeReason = ''

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const frame = decodeFrame(data)
      if (frame.type === 4) this.resets.set(frame.stream, {code: frame.code, message: frame.message})
      if (frame.type === 5) this.credit.set(frame.stream, (this.credit.get(frame.stream) ?? 0) + frame.increment)
    })
    ws.on('close', (code, reason) => {
      this.closeCode = code
      this.closeReason = reason.toString()
    })
    ws.on('error', () => undefined)
  }

  static async open(port: number, token: string, subprotocol = SUBPROTOCOL): Promise<RawSession> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, subprotocol, {headers: {Authorization: `Bearer ${token}`}, perMessageDeflate: false})
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
    return new RawSession(ws)
  }

  openStream(id: number, window: number, target: string): void {
    this.ws.send(encodeOpen(id, window, target))
  }

  data(id: number, bytes: Buffer): void {
    this.ws.send(encodeData(id, bytes))
  }

  reset(id: number): void {
    this.ws.send(encodeRst(id, 1, 'test'))
  }

  /** Resolves once the relay has closed the session, with its close code. */
  async closed(timeoutMs = 30_000): Promise<number> {
    return waitFor(() => this.closeCode, timeoutMs, () => 'the relay to close the session')
  }

  close(): void {
    this.ws.terminate()
  }
}
