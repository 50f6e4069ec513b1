// Inside a namespace: can a TCP connection to host:port be opened within 1.5 s? Prints open or closed.
import { connect } from 'node:net'

const [host, port] = process.argv.slice(2)
const socket = connect({ host, port: Number(port) })
const result = await new Promise((resolve) => {
  const timer = setTimeout(() => resolve('closed'), 1_500)
  socket.once('connect', () => (clearTimeout(timer), resolve('open')))
  socket.once('error', () => (clearTimeout(timer), resolve('closed')))
})
socket.destroy()
process.stdout.write(result)
