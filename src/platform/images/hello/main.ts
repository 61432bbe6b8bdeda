// Image `ukc/hello`: an HTTP/1.1 server (keep-alive) answering `Hello from <instance name>` so
// load balancing across instances is visible. Listens on UKC_LISTEN_HOST:PORT (set by the platform).
import http from 'node:http'

const name = process.env.UKC_INSTANCE_NAME ?? 'hello'
const host = process.env.UKC_LISTEN_HOST ?? '127.0.0.1'
const port = Number(process.env.PORT ?? 8080)
const body = `Hello from ${name}\n`

const server = http.createServer({keepAliveTimeout: 65_000}, (request, response) => {
  request.resume()
  response.writeHead(200, {'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body)})
  response.end(request.method === 'HEAD' ? undefined : body)
})
server.listen(port, host, () => console.log(`hello: ${name} listening on ${host}:${port}`))

const shutdown = (): void => {
  server.close(() => process.exit(0))
  server.closeIdleConnections()
}
process.on('SIGTERM', shutdown)
process.on('SIGINT', shutdown)
