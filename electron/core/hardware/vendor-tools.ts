import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import type { AbortOptions } from '../util/startable'

/** What systeminformation does not report: CUDA version, and AMD details from rocm-smi. */

export const TOOL_TIMEOUT_MS = 5_000
const MAX_OUTPUT = 1024 * 1024

export interface ToolOptions extends AbortOptions {
  timeoutMs?: number
}

export interface ToolResult {
  stdout?: string
  /** still running at the timeout (a hung driver), as opposed to missing or failing */
  timedOut: boolean
}

export async function runToolResult(file: string, args: string[], options: ToolOptions = {}): Promise<ToolResult> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      {
        timeout: options.timeoutMs ?? TOOL_TIMEOUT_MS,
        killSignal: 'SIGKILL',
        maxBuffer: MAX_OUTPUT,
        signal: options.signal,
        encoding: 'utf8',
        env: { ...process.env, LC_ALL: 'C' }
      },
      (err, stdout) => {
        if (!err) return resolve({ stdout, timedOut: false })
        resolve({ timedOut: err.killed === true && err.name !== 'AbortError' })
      }
    )
  })
}

/** stdout of a tool, or undefined when it is missing, fails or takes too long. */
export async function runTool(file: string, args: string[], options: ToolOptions = {}): Promise<string | undefined> {
  return (await runToolResult(file, args, options)).stdout
}

export interface NvidiaSummary {
  cudaVersion?: string
  /** Per GPU from the table, by PCI bus id (lower case). */
  gpus: Array<{ bus: string; utilizationPercent?: number; temperatureC?: number }>
}

/**
 * Plain `nvidia-smi`: its header holds the CUDA version the driver supports, and its table the
 * utilisation and temperature, which systeminformation drops when they are 0.
 */
export function parseNvidiaSmiTable(text: string): NvidiaSummary {
  const summary: NvidiaSummary = { cudaVersion: /CUDA Version:\s*([0-9]+(?:\.[0-9]+)*)/.exec(text)?.[1], gpus: [] }
  const lines = text.split('\n')
  for (let i = 0; i < lines.length - 1; i++) {
    const bus = /\|\s*([0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-9A-Fa-f])\s/.exec(lines[i])?.[1]
    if (!bus) continue
    const cells = lines[i + 1].split('|')
    const temp = /^\s*\S+\s+(-?\d+)C\s/.exec(cells[1] ?? '')?.[1]
    const util = /^\s*(\d+)%\s/.exec(cells[3] ?? '')?.[1]
    summary.gpus.push({
      bus: bus.toLowerCase(),
      utilizationPercent: util === undefined ? undefined : Number(util),
      temperatureC: temp === undefined ? undefined : Number(temp)
    })
  }
  return summary
}

/** undefined when nvidia-smi is missing or fails; `hung` when it did not answer in time. */
export async function nvidiaSummary(
  options: ToolOptions = {}
): Promise<(NvidiaSummary & { hung?: boolean }) | undefined> {
  const result = await runToolResult('nvidia-smi', [], options)
  if (result.timedOut) return { gpus: [], hung: true }
  return result.stdout === undefined ? undefined : parseNvidiaSmiTable(result.stdout)
}

export interface RocmCard {
  bus?: string
  model?: string
  vramMB?: number
  vramUsedMB?: number
  utilizationPercent?: number
  temperatureC?: number
}

export interface RocmInfo {
  cards: RocmCard[]
  driver?: string
}

const RocmJsonSchema = z.record(z.string().max(64), z.record(z.string().max(256), z.unknown()))

const ROCM_ARGS = [
  '--showproductname',
  '--showmeminfo',
  'vram',
  '--showuse',
  '--showtemp',
  '--showbus',
  '--showdriverversion',
  '--json'
]

function field(card: Record<string, unknown>, pattern: RegExp): string | undefined {
  for (const [key, value] of Object.entries(card)) {
    if (pattern.test(key) && typeof value === 'string' && !/N\/A/.test(value)) return value.trim()
  }
  return undefined
}

function num(value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const n = Number.parseFloat(value)
  return Number.isFinite(n) ? n : undefined
}

/** Parses `rocm-smi … --json` (keys differ a little between ROCm releases, so match them loosely). */
export function parseRocmSmi(text: string): RocmInfo | undefined {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return undefined
  }
  const parsed = RocmJsonSchema.safeParse(json)
  if (!parsed.success) return undefined
  const info: RocmInfo = { cards: [] }
  for (const [name, card] of Object.entries(parsed.data)) {
    if (name === 'system') {
      info.driver = field(card, /^driver version$/i)
      continue
    }
    if (!/^card\d+$/.test(name)) continue
    const bytes = num(field(card, /^vram total memory \(b\)$/i))
    const used = num(field(card, /^vram total used memory \(b\)$/i))
    info.cards.push({
      bus: field(card, /^pci bus$/i)?.toLowerCase(),
      model: field(card, /^card series$/i) ?? field(card, /^device name$/i),
      vramMB: bytes === undefined ? undefined : Math.round(bytes / 1024 / 1024),
      vramUsedMB: used === undefined ? undefined : Math.round(used / 1024 / 1024),
      utilizationPercent: num(field(card, /^gpu use \(%\)$/i)),
      temperatureC:
        num(field(card, /^temperature \(sensor edge\) \(c\)$/i)) ??
        num(field(card, /^temperature \(sensor junction\) \(c\)$/i))
    })
  }
  return info
}

export async function rocmSmi(options: ToolOptions = {}): Promise<RocmInfo | undefined> {
  const out = await runTool('rocm-smi', ROCM_ARGS, options)
  return out === undefined ? undefined : parseRocmSmi(out)
}

/** ROCm release from `$ROCM_PATH/.info/version` ("6.1.2-119" → "6.1.2"). */
export async function rocmVersion(): Promise<string | undefined> {
  const root = process.env.ROCM_PATH ?? '/opt/rocm'
  try {
    const text = await readFile(join(root, '.info', 'version'), 'utf8')
    return /^\s*([0-9]+(?:\.[0-9]+)*)/.exec(text)?.[1]
  } catch {
    return undefined
  }
}
