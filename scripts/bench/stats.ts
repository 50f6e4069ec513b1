// The bench's statistics and its report: the keys every run writes (null with a note when a section
// did not run), the targets beside them, and the printed table. No processes here: unit-tested.

/** Nearest-rank quantile (q in 0..1) of a non-empty list. */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) throw new Error('quantile of an empty list')
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(sorted.length * q) - 1))]
}

export const median = (values: number[]): number => quantile(values, 0.5)

export const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits

export type Log = (line: string) => void

/** What one section measured: metric name → number (extra keys beyond the required ones are fine). */
export type Measured = Record<string, number>

export interface BenchContext {
  log: Log
  /** `--full`: the big sizes. */
  full: boolean
  /** Why a required metric of this section was not measured (goes to the report's notes). */
  note(key: string, why: string): void
}

export type Section = (ctx: BenchContext) => Promise<Measured>

interface Target {
  /** `max`: the value must be at most `limit`; `min`: at least. */
  kind: 'max' | 'min'
  limit: number
}

/** The keys every report has, with the targets the project set for them (issue "scale and speed"). */
export const REQUIRED: Record<string, Target | undefined> = {
  'routing.overheadP50Ms': { kind: 'max', limit: 3 },
  'routing.overheadP99Ms': { kind: 'max', limit: 10 },
  'routing.throughputRatio': { kind: 'min', limit: 0.95 },
  'failover.preTokenGapP95Ms': { kind: 'max', limit: 500 },
  'failover.midStreamGapP95Ms': { kind: 'max', limit: 1000 },
  'discovery.newProviderRoutableMs': { kind: 'max', limit: 3000 },
  'discovery.deadProviderDroppedMs': { kind: 'max', limit: 2000 },
  'reputation.lieKnownByAllMs': undefined,
  'load.streams': { kind: 'min', limit: 500 },
  'load.lost': { kind: 'max', limit: 0 },
  'idle.rssMB': { kind: 'max', limit: 150 },
  'idle.cpuPercentPerNode30': { kind: 'max', limit: 2 },
  'scale.convergeMs30': { kind: 'max', limit: 30_000 }
}

export const REQUIRED_KEYS = Object.keys(REQUIRED)

export interface BenchReport {
  startedAt: string
  machine: { cpus: number; memoryGB: number; platform: string; node: string }
  command: string
  sections: string[]
  /** Every measured value by its full key, the required keys always present (null when not measured). */
  metrics: Record<string, number | null>
  notes: Record<string, string>
  /** The same numbers nested by dots (`routing.overheadP50Ms` → routing: { overheadP50Ms }). */
  [group: string]: unknown
}

/** Assembles the report: every required key present, null with a note when nothing measured it. */
export function buildReport(
  measured: Measured,
  notes: Record<string, string>,
  meta: Pick<BenchReport, 'startedAt' | 'machine' | 'command' | 'sections'>
): BenchReport {
  const metrics: Record<string, number | null> = {}
  const allNotes = { ...notes }
  for (const key of REQUIRED_KEYS) {
    const value = measured[key]
    metrics[key] = typeof value === 'number' && Number.isFinite(value) ? value : null
    if (metrics[key] === null && allNotes[key] === undefined)
      allNotes[key] = 'not measured in this run (its section was not run, or failed: see <section>.failed)'
  }
  for (const [key, value] of Object.entries(measured)) if (!(key in metrics)) metrics[key] = value
  const report: BenchReport = { ...meta, metrics, notes: allNotes }
  for (const [key, value] of Object.entries(metrics)) {
    const dot = key.indexOf('.')
    if (dot < 0) continue
    const group = key.slice(0, dot)
    if (['metrics', 'notes', 'machine', 'sections', 'command', 'startedAt'].includes(group)) continue
    const bucket = (report[group] ??= {}) as Record<string, number | null>
    bucket[key.slice(dot + 1)] = value
  }
  return report
}

/** 'yes' / 'NO' / '-' (no target or no value). */
export function targetMet(key: string, value: number | null): string {
  const target = REQUIRED[key]
  if (target === undefined || value === null) return '-'
  return (target.kind === 'max' ? value <= target.limit : value >= target.limit) ? 'yes' : 'NO'
}

export function targetText(key: string): string {
  const target = REQUIRED[key]
  if (target === undefined) return '-'
  return `${target.kind === 'max' ? '≤' : '≥'} ${target.limit}`
}

/** The printed table: the required metrics first with targets, then the other numbers. */
export function formatTable(report: BenchReport): string {
  const rows: string[][] = [['metric', 'value', 'target', 'met?']]
  for (const key of REQUIRED_KEYS) {
    const value = report.metrics[key]
    rows.push([key, value === null ? 'null' : String(value), targetText(key), targetMet(key, value)])
  }
  for (const [key, value] of Object.entries(report.metrics))
    if (!(key in REQUIRED)) rows.push([key, value === null ? 'null' : String(value), '', ''])
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
  const lines = rows.map((r) =>
    r
      .map((cell, i) => cell.padEnd(widths[i]))
      .join('  ')
      .trimEnd()
  )
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '))
  const notes = Object.entries(report.notes).map(([key, why]) => `  ${key}: ${why}`)
  return [...lines, ...(notes.length > 0 ? ['notes:', ...notes] : [])].join('\n')
}
