// A real HTTP CONNECT proxy on loopback for the proxy tests (API calls and the tunnel's WebSocket):
// it records what it is asked for and sends every tunnel to 127.0.0.1, whatever name was asked, so
// tests can use names that are not loopback (loopback is never proxied) without any DNS.
import http from 'node:http'
import net from 'node:net'

export interface ConnectProxy {
  port: number
  /** The CONNECT requests, in order (url = "host:port"). */
  requests: http.IncomingMessage[]
  close(): Promise<void>
}

/** With `answer`, every CONNECT gets that raw HTTP response instead of a tunnel (e.g. a 407). */
export async function startConnectProxy(answer?: string): Promise<ConnectProxy> {
  const requests: http.IncomingMessage[] = []
  const server = http.createServer((_req, res) => res.writeHead(405).end())
  const sockets = new Set<net.Socket>()
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    requests.push(req)
    sockets.add(client)
    client.on('error', () => client.destroy())
    if (answer) return void client.end(answer)
    const port = Number(String(req.url).split(':').pop())
    const upstream = net.connect({host: '127.0.0.1', port}, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      if (head.length > 0) upstream.write(head)
      client.pipe(upstream).pipe(client)
    })
    sockets.add(upstream)
    upstream.on('error', () => client.destroy())
    client.on('close', () => upstream.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}
