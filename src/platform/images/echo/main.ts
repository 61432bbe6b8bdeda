// Image `ukc/echo`: a TCP echo server. allowHalfOpen keeps our sending side open after the client
// half-closes, so everything it sent comes back before our FIN.
import net from 'node:net'

const host = process.env.UKC_LISTEN_HOST ?? '127.0.0.1'
const port = Number(process.env.PORT ?? 9000)

const server = net.createServer({allowHalfOpen: true, noDelay: true}, (socket) => {
  socket.on('error', () => socket.destroy())
  socket.pipe(socket) // pipe ends our side once the client's side has ended
})
server.listen(port, host, () => console.log(`echo: listening on ${host}:${port}`))

// Open connections would keep a graceful close waiting forever; an echo has no state to save.
process.on('SIGTERM', () => process.exit(0))
process.on('SIGINT', () => process.exit(0))
