import { chmodSync, readFileSync, rmSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { ArgsError, parseWorkerArgs, USAGE } from './args'
import { createEngine } from './engine'
import { watchLifecycle } from './lifecycle'
import { log } from './log'
import { JobQueue } from './queue'
import { createWorkerServer } from './server'

/** How long in-flight generations may run after SIGTERM before they are cut. */
const DRAIN_MS = 10_000
const DISPOSE_MS = 3_000

const timeout = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref())

async function main(): Promise<void> {
  let args
  try {
    args = parseWorkerArgs(process.argv.slice(2))
  } catch (err) {
    if (!(err instanceof ArgsError)) throw err
    process.stderr.write(`worker: ${err.message}\n${USAGE}\n`)
    process.exit(2)
  }

  let stopping = false
  // nothing to drain while the models load: leave at once
  let stop = (reason: string): void => {
    log.info('stopping before ready', { reason })
    process.exit(0)
  }
  const unwatch = watchLifecycle((reason) => stop(reason), args.parentPid)

  const engine = await createEngine({
    models: args.models,
    gpu: args.gpu,
    threads: args.threads,
    parallel: args.parallel,
    contextSize: args.contextSize
  })
  const queue = new JobQueue(args.parallel, args.maxQueue)
  const token = args.tokenFile === undefined ? undefined : readToken(args.tokenFile)
  const server = createWorkerServer({ engine, queue }, { token })

  stop = (reason: string): void => {
    if (stopping) return
    stopping = true
    log.info('stopping', { reason, running: queue.active, queued: queue.queued })
    queue.close()
    server.close()
    server.closeIdleConnections()
    void (async () => {
      await Promise.race([queue.idle(), timeout(DRAIN_MS)])
      server.closeAllConnections()
      unwatch()
      await Promise.race([engine.dispose(), timeout(DISPOSE_MS)])
      log.info('stopped')
      process.exit(0)
    })()
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    const listening = (): void => {
      server.off('error', reject)
      resolve()
    }
    if (args.socket === undefined) server.listen(args.port, args.host, listening)
    else {
      rmSync(args.socket, { force: true })
      server.listen(args.socket, listening)
    }
  })
  // the node runs as another user than the container: it needs write permission to connect
  if (args.socket !== undefined) chmodSync(args.socket, 0o666)
  const port = args.socket === undefined ? (server.address() as AddressInfo).port : undefined
  log.info('listening', {
    host: args.host,
    port,
    socket: args.socket,
    token: token !== undefined,
    models: args.models.map((m) => m.name),
    parallel: args.parallel,
    maxQueue: args.maxQueue
  })
  process.stdout.write(
    `MESHWORK_WORKER_READY ${JSON.stringify(args.socket === undefined ? { port } : { socket: args.socket })}\n`
  )
}

/** The launch token: one line of 16..256 URL-safe characters. */
function readToken(file: string): string {
  const token = readFileSync(file, 'utf8').trim()
  if (!/^[A-Za-z0-9_-]{16,256}$/.test(token)) throw new Error(`the token file ${file} holds no valid token`)
  return token
}

main().catch((err) => {
  log.error('worker failed to start', { error: (err as Error).message })
  process.exit(1)
})
