import type { ResolvedModel } from './models/types'

export interface WorkerArgsInput {
  /** name → path as the worker sees it (inside the container, or on this machine) */
  models: Array<{ name: string; path: string }>
  host: string
  port: number
  threads: number
  gpu: boolean
  parallel?: number
  maxQueue?: number
  parentPid?: number
  /** The per-launch token's file as the worker sees it. */
  tokenFile?: string
  /** A unix socket to listen on instead of host:port (as the worker sees it). */
  socket?: string
}

/** The worker's command line (the contract: `--model name=path ... --host H --port N ...`). */
export function workerArgs(input: WorkerArgsInput): string[] {
  const args: string[] = []
  for (const model of input.models) args.push('--model', `${model.name}=${model.path}`)
  args.push(
    '--host',
    input.host,
    '--port',
    String(input.port),
    '--threads',
    String(input.threads),
    '--gpu',
    input.gpu ? 'auto' : 'false'
  )
  if (input.parallel !== undefined) args.push('--parallel', String(input.parallel))
  if (input.maxQueue !== undefined) args.push('--max-queue', String(input.maxQueue))
  if (input.parentPid !== undefined) args.push('--parent-pid', String(input.parentPid))
  if (input.tokenFile !== undefined) args.push('--token-file', input.tokenFile)
  if (input.socket !== undefined) args.push('--socket', input.socket)
  return args
}

/** Where each model is mounted read-only inside a container. */
export function containerModelPath(index: number): string {
  return `/models/${index}.gguf`
}

export function servedModels(
  models: ResolvedModel[]
): Array<{ name: string; sha256: string; params: number; contextLength: number }> {
  return models.map((m) => ({ name: m.name, sha256: m.sha256, params: m.params, contextLength: m.contextLength }))
}
