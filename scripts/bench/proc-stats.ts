// What a process costs, read from /proc (Linux): resident memory and CPU time.
import { readFileSync } from 'node:fs'

const TICKS_PER_SECOND = 100

/** Resident set size of `pid` in MB (VmRSS), or NaN when the process is gone. */
export function rssMB(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match ? Number(match[1]) / 1024 : Number.NaN
  } catch {
    return Number.NaN
  }
}

/**
 * User + system CPU seconds `pid` has used so far, with those of its children that have ended (the
 * tools hardware detection runs, say); NaN when gone.
 */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // fields after the command name (which may hold spaces) start at state, field 3
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const [utime, stime, cutime, cstime] = fields.slice(11, 15).map(Number)
    return (utime + stime + cutime + cstime) / TICKS_PER_SECOND
  } catch {
    return Number.NaN
  }
}

/** Percent of one core each pid used over `ms` (sampled at both ends). */
export async function cpuPercentOver(pids: number[], ms: number): Promise<number[]> {
  const before = pids.map(cpuSeconds)
  const started = performance.now()
  await new Promise((r) => setTimeout(r, ms))
  const seconds = (performance.now() - started) / 1000
  return pids.map((pid, i) => ((cpuSeconds(pid) - before[i]) / seconds) * 100)
}
