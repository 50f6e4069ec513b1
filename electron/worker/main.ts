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

  const engine = await createEngine({ models: args.models, gpu: args.gpu, threads: args.threads, parallel: args.parallel, contextSize: args.contextSize })
  const queue = new JobQueue(args.parallel, args.maxQueue)
  const server = createWorkerServer({ engine, queue })

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
    server.listen(args.port, args.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  log.info('listening', { host: args.host, port, models: args.models.map((m) => m.name), parallel: args.parallel, maxQueue: args.maxQueue })
  process.stdout.write(`MESHWORK_WORKER_READY ${JSON.stringify({ port })}\n`)
}

main().catch((err) => {
  log.error('worker failed to start', { error: (err as Error).message })
  process.exit(1)
})
