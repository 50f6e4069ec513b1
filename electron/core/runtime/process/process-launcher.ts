import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { RuntimeUnavailableError } from '../../util/errors'
import type { RuntimeComponents, RuntimeOptions } from '../components'
import { waitForHealth } from '../health'
import { lineSplitter } from '../lines'
import { resolveWorkerPaths, type WorkerPaths } from '../paths'
import type { WorkerInstance, WorkerLauncher } from '../supervisor'
import { createLaunchSecret, removeLaunchSecrets } from '../launch-secret'
import { workerArgs } from '../worker-args'
import { workerEnv } from './worker-env'

export const READY_PREFIX = 'MESHWORK_WORKER_READY '

/**
 * The worker as a child process of this node: no container isolation (it runs as this user, sees this
 * user's files and the network); for machines without Docker. `--parent-pid` makes it exit when we die.
 * It gets no MESHWORK_* or secret-named variables, and answers only with its per-launch token.
 */
export class ProcessLauncher implements WorkerLauncher {
  readonly kind = 'process' as const
  private readonly paths: WorkerPaths

  constructor(
    private readonly components: RuntimeComponents,
    private readonly options: RuntimeOptions = {}
  ) {
    this.paths = resolveWorkerPaths(options.paths)
  }

  async prepare(): Promise<void> {
    if (!existsSync(this.paths.workerEntry))
      throw new RuntimeUnavailableError(`The worker bundle ${this.paths.workerEntry} is missing: run \`npm run build\``)
    if (!existsSync(this.paths.nodeBinary))
      throw new RuntimeUnavailableError(`No Node binary at ${this.paths.nodeBinary}`)
    if (this.components.models.length === 0) throw new RuntimeUnavailableError('No model to serve')
    await removeLaunchSecrets(join(this.components.dataDir, 'run'))
  }

  details(): Record<string, never> {
    return {}
  }

  async launch(options: { signal: AbortSignal }): Promise<WorkerInstance> {
    const { components } = this
    const secret = await createLaunchSecret(join(components.dataDir, 'run'))
    const args = workerArgs({
      models: components.models.map((m) => ({ name: m.name, path: m.path })),
      host: '127.0.0.1',
      port: 0,
      threads: components.threads,
      gpu: components.gpu !== undefined,
      parallel: this.options.parallel,
      maxQueue: this.options.maxQueue,
      parentPid: process.pid,
      tokenFile: secret.tokenFile
    })
    const child = spawn(this.paths.nodeBinary, [this.paths.workerEntry, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: workerEnv()
    })
    const exited = new Promise<string>((resolve) => {
      child.once('exit', (code, signal) => resolve(signal ? `signal ${signal}` : `code ${code}`))
      child.once('error', (err) => resolve(err.message))
    })
    let exitReason: string | undefined
    void exited.then((r) => (exitReason = r))
    const port = new Promise<number>((resolve) => {
      const out = lineSplitter((line) => {
        if (line.startsWith(READY_PREFIX)) {
          try {
            const parsed = JSON.parse(line.slice(READY_PREFIX.length)) as { port?: unknown }
            if (typeof parsed.port === 'number') resolve(parsed.port)
          } catch {
            /* not the ready line after all */
          }
        }
        components.events.emit('runtime:log', { line, stream: 'stdout' })
      })
      child.stdout!.on('data', (chunk: Buffer) => out.push(chunk))
      child.stdout!.on('end', () => out.end())
    })
    const err = lineSplitter((line) => components.events.emit('runtime:log', { line, stream: 'stderr' }))
    child.stderr!.on('data', (chunk: Buffer) => err.push(chunk))
    child.stderr!.on('end', () => err.end())

    const stop = async (): Promise<void> => {
      await stopChild(child, exited)
      await secret.remove()
    }
    try {
      const timeoutMs = this.options.readyTimeoutMs ?? 60_000
      const deadline = AbortSignal.any([options.signal, AbortSignal.timeout(timeoutMs)])
      const chosen = await Promise.race([
        port,
        exited.then((r) => Promise.reject(new Error(`The worker exited before it was ready: ${r}`))),
        new Promise<never>((_, reject) =>
          deadline.addEventListener(
            'abort',
            () => reject(new Error(`The worker did not report ready within ${timeoutMs} ms`)),
            { once: true }
          )
        )
      ])
      const endpoint = `http://127.0.0.1:${chosen}`
      await waitForHealth(endpoint, { signal: options.signal, timeoutMs, gone: () => exitReason })
      components.logger.info('worker process ready', { pid: child.pid, endpoint })
      return { endpoint, token: secret.token, id: String(child.pid), exited, stop }
    } catch (error) {
      await stop()
      throw error
    }
  }
}

/** SIGTERM, then SIGKILL after `graceMs`. */
async function stopChild(child: ChildProcess, exited: Promise<string>, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(timer)
}
