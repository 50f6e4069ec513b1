import { parseArgs } from 'node:util'
import { z } from 'zod'

export const USAGE = `Usage: worker --model <name>=<path.gguf> [--model ...] [--host 127.0.0.1] [--port 0]
              [--threads 1] [--gpu auto|false|cuda|vulkan|metal] [--parallel 2] [--max-queue 16]
              [--context-size 4096] [--parent-pid PID] [--token-file FILE] [--socket PATH]`

const ModelArg = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}=.+$/, 'expected --model <name>=<path.gguf>')
  .transform((s) => {
    const at = s.indexOf('=')
    return { name: s.slice(0, at), path: s.slice(at + 1) }
  })

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max)

const WorkerArgsSchema = z.object({
  models: z
    .array(ModelArg)
    .min(1, 'at least one --model <name>=<path.gguf> is required')
    .max(16)
    .refine((m) => new Set(m.map((x) => x.name)).size === m.length, 'model names must be unique'),
  host: z.string().min(1).max(255).default('127.0.0.1'),
  port: int(0, 65535).default(0),
  threads: int(0, 1024).default(1),
  gpu: z.enum(['auto', 'false', 'cuda', 'vulkan', 'metal']).default('auto'),
  parallel: int(1, 64).default(2),
  maxQueue: int(0, 10_000).default(16),
  contextSize: int(64, 1 << 20).default(4096),
  parentPid: int(1, 1 << 30).optional(),
  /** A file holding the per-launch token every route but /health requires as `Authorization: Bearer`. */
  tokenFile: z.string().min(1).max(4096).optional(),
  /** Listen on this unix socket instead of host:port (a container without a network). */
  socket: z.string().min(1).max(100).optional()
})
export type WorkerArgs = z.infer<typeof WorkerArgsSchema>

export class ArgsError extends Error {}

export function parseWorkerArgs(argv: string[]): WorkerArgs {
  let values: Record<string, string | string[] | boolean | undefined>
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      options: {
        model: { type: 'string', multiple: true },
        host: { type: 'string' },
        port: { type: 'string' },
        threads: { type: 'string' },
        gpu: { type: 'string' },
        parallel: { type: 'string' },
        'max-queue': { type: 'string' },
        'context-size': { type: 'string' },
        'parent-pid': { type: 'string' },
        'token-file': { type: 'string' },
        socket: { type: 'string' }
      }
    }).values
  } catch (err) {
    throw new ArgsError((err as Error).message)
  }
  const parsed = WorkerArgsSchema.safeParse({
    models: values.model ?? [],
    host: values.host,
    port: values.port,
    threads: values.threads,
    gpu: values.gpu,
    parallel: values.parallel,
    maxQueue: values['max-queue'],
    contextSize: values['context-size'],
    parentPid: values['parent-pid'],
    tokenFile: values['token-file'],
    socket: values.socket
  })
  if (!parsed.success) {
    throw new ArgsError(parsed.error.issues.map((i) => `${i.path.join('.') || 'args'}: ${i.message}`).join('; '))
  }
  return parsed.data
}
