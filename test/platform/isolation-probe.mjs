// A user image for the isolation tests: an HTTP server on $UKC_LISTEN_HOST:$PORT that tries what it
// is told, as the instance's own uid, and answers what happened: POST / {"op": ...} →
// {"ok": true, "data": ...} or {"ok": false, "code": "EACCES"}.
//   list {path}           readdir
//   read {path}           readFile (first 256 bytes)
//   signal {pid, signal}  process.kill
//   connect {host, port, localAddress?}   a TCP connection is established (then closed)
//   http {host, port, localAddress?}      GET / → the body
//   pg {socket}           a Postgres startup message over a Unix socket (user postgres): what the
//                         server answers first — "authenticated" (no password asked) or "password requested"
import {Buffer} from 'node:buffer'
import fs from 'node:fs'
import http from 'node:http'
import net from 'node:net'

const failure = (error) => ({ok: false, code: error.code ?? error.message})

function connect({host, port, localAddress}) {
  return new Promise((resolve) => {
    const socket = net.connect({host, port, localAddress})
    socket.once('connect', () => {
      socket.destroy()
      resolve({ok: true})
    })
    socket.once('error', (error) => resolve(failure(error)))
  })
}

function get({host, port, localAddress}) {
  return new Promise((resolve) => {
    http
      .get({host, port, localAddress, agent: false}, (response) => {
        let body = ''
        response.setEncoding('utf8')
        response.on('data', (chunk) => (body += chunk))
        response.on('end', () => resolve({ok: true, data: body}))
        response.on('error', (error) => resolve(failure(error)))
      })
      .once('error', (error) => resolve(failure(error)))
  })
}

function startup(user) {
  const fields = Buffer.from(`user\0${user}\0database\0postgres\0\0`)
  const message = Buffer.alloc(8 + fields.length)
  message.writeInt32BE(message.length, 0)
  message.writeInt32BE(196_608, 4) // protocol 3.0
  fields.copy(message, 8)
  return message
}

function pgLogin({socket: path}) {
  return new Promise((resolve) => {
    const socket = net.connect({path})
    let answer = Buffer.alloc(0)
    socket.once('connect', () => socket.write(startup('postgres')))
    socket.on('data', (chunk) => {
      answer = Buffer.concat([answer, chunk])
      if (answer.length < 9) return
      socket.destroy()
      // 'R' AuthenticationRequest: code 0 = ok (no password asked), anything else asks for one.
      if (answer[0] !== 0x52) return resolve({ok: true, data: `refused: ${answer.subarray(5).toString('utf8').replace(/\0/g, ' ').trim()}`})
      resolve({ok: true, data: answer.readInt32BE(5) === 0 ? 'authenticated' : 'password requested'})
    })
    socket.once('error', (error) => resolve(failure(error)))
  })
}

async function attempt(request) {
  try {
    switch (request.op) {
      case 'list':
        return {ok: true, data: fs.readdirSync(request.path)}
      case 'read':
        return {ok: true, data: fs.readFileSync(request.path).subarray(0, 256).toString('utf8')}
      case 'signal':
        process.kill(request.pid, request.signal)
        return {ok: true}
      case 'connect':
        return await connect(request)
      case 'http':
        return await get(request)
      case 'pg':
        return await pgLogin(request)
      default:
        return {ok: false, code: `unknown op ${request.op}`}
    }
  } catch (error) {
    return failure(error)
  }
}

http
  .createServer((request, response) => {
    let body = ''
    request.setEncoding('utf8')
    request.on('data', (chunk) => (body += chunk))
    request.on('end', async () => {
      const result = await attempt(JSON.parse(body || '{}'))
      response.setHeader('content-type', 'application/json')
      response.end(JSON.stringify(result))
    })
  })
  .listen(Number(process.env.PORT), process.env.UKC_LISTEN_HOST)
