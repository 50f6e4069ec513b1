// The soak's verdict from its samples (no processes here: unit-tested). Growth is measured after the
// warm-up (the first minute: lazy start-up, JIT, caches and connection pools filling), so what is
// left is what keeps growing with time, requests and churn.
import type { NodeSample } from './soak-sampler'
import { dbTotal } from './soak-sampler'
import { type Measured, median, round } from './stats'

export interface TimedSample {
  /** Seconds since the churn started. */
  t: number
  /** No churn peer alive (each cycle ends in one): fds and connections are comparable between these. */
  quiet: boolean
  /** Requests that completed by then (through the router), for the ledger's bytes per job. */
  requests: number
  node: NodeSample
}

export interface SoakSeries {
  name: string
  samples: TimedSample[]
}

/** The bounds the verdict uses (see BOUNDS_NOTE for why these). */
export const BOUNDS = {
  /** RSS growth after the warm-up: at most this many MB, or this share of the warm RSS if larger. */
  rssMB: 10,
  rssShare: 0.05,
  /** Open fds between comparable quiet points: a client's keep-alive sockets may vary by a few. */
  fds: 4,
  connections: 1,
  /** A WAL file is checkpointed at ~4 MB (SQLite's 1000 pages); twice that is a checkpoint that stopped. */
  walBytes: 8 * 2 ** 20,
  /** The ledger is append-only by design: judged by bytes per job, which must not rise. */
  ledgerPerJobRise: 1.5,
  ledgerPerJobSlackBytes: 256,
  /** The reputation store keeps at most 256 rows per provider: about this many bytes each. */
  reputationBytesPerPeer: 64 * 1024
}

export const BOUNDS_NOTE =
  `bounded = after the 1-min warm-up: RSS growth (linear fit over the post-warm-up samples) <= max(${BOUNDS.rssMB} MB, ` +
  `${BOUNDS.rssShare * 100} % of the warm RSS) -- GC keeps RSS noisy by a few MB, a per-request or per-churn leak ` +
  `shows as a steady slope (the default run catches about 5 MB/min, --full about 0.2 MB/min); ` +
  `open fds +<=${BOUNDS.fds} and libp2p connections +<=${BOUNDS.connections} between quiet points (no churn peer alive, ` +
  `so the same peers are connected); each WAL file <= 8 MB (SQLite checkpoints at ~4 MB); ledger bytes per job not rising ` +
  `(it is append-only by design, one receipt per job); reputation.sqlite growth <= 64 KB per peer seen (its cap of ` +
  `256 rows per provider); no labelled container left; no failed request while the honest provider was live`

export function linearSlope(points: Array<{ x: number; y: number }>): number {
  const finite = points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y))
  if (finite.length < 2) return 0
  const mx = finite.reduce((s, p) => s + p.x, 0) / finite.length
  const my = finite.reduce((s, p) => s + p.y, 0) / finite.length
  const sxx = finite.reduce((s, p) => s + (p.x - mx) ** 2, 0)
  return sxx === 0 ? 0 : finite.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0) / sxx
}

export interface SoakRun {
  series: SoakSeries[]
  warmupS: number
  endS: number
  /** Churn peers that joined over the run. */
  peersJoined: number
  containersLeft: number
  failed: number
}

export interface Verdict {
  metrics: Measured
  /** What grew beyond its bound, in words (empty: bounded). */
  unbounded: string[]
}

interface NodeVerdict {
  rssGrowthMB: number
  rssWarmupGrowthMB: number
  rssSlopeMBPerHour: number
  heapGrowthMB: number
  fdGrowth: number
  connectionGrowth: number
  dbGrowthKB: number
  walMaxKB: number
  ledgerBytesPerJob: [number, number]
  reputationGrowthKB: number
}

function judgeNode(series: SoakSeries, run: SoakRun): NodeVerdict {
  const all = series.samples.filter((s) => Number.isFinite(s.node.rssMB))
  const post = all.filter((s) => s.t >= run.warmupS)
  if (post.length < 2) throw new Error(`${series.name}: fewer than 2 samples after the warm-up`)
  const rss = (ss: TimedSample[]): Array<{ x: number; y: number }> => ss.map((s) => ({ x: s.t, y: s.node.rssMB }))
  const span = post[post.length - 1].t - post[0].t
  const head = (ss: TimedSample[]): number => median(ss.slice(0, 3).map((s) => s.node.rssMB))
  // quiet points: the one nearest the end of the warm-up is the baseline, the last one the end
  const quiet = all.filter((s) => s.quiet)
  const last = quiet[quiet.length - 1] ?? post[post.length - 1]
  const earlier = quiet.slice(0, -1)
  const base = earlier.length
    ? earlier.reduce((a, b) => (Math.abs(b.t - run.warmupS) < Math.abs(a.t - run.warmupS) ? b : a))
    : post[0]
  const mid = post[Math.floor(post.length / 2)]
  const first = post[0]
  const end = post[post.length - 1]
  const perJob = (a: TimedSample, b: TimedSample): number =>
    (b.node.db.ledger - a.node.db.ledger) / Math.max(1, b.requests - a.requests)
  return {
    rssGrowthMB: linearSlope(rss(post)) * span,
    rssWarmupGrowthMB: head(post) - head(all),
    rssSlopeMBPerHour: linearSlope(rss(post.filter((s) => s.t >= run.endS / 2))) * 3600,
    heapGrowthMB: linearSlope(post.map((s) => ({ x: s.t, y: s.node.heapUsedMB }))) * span,
    fdGrowth: last.node.fds - base.node.fds,
    connectionGrowth: last.node.connections - base.node.connections,
    dbGrowthKB: (dbTotal(end.node.db) - dbTotal(first.node.db)) / 1024,
    walMaxKB: Math.max(...all.map((s) => s.node.db.walLargest)) / 1024,
    ledgerBytesPerJob: [perJob(first, mid), perJob(mid, end)],
    reputationGrowthKB: (end.node.db.reputation - first.node.db.reputation) / 1024
  }
}

export function judgeSoak(run: SoakRun): Verdict {
  const metrics: Measured = {}
  const unbounded: string[] = []
  const worst: Record<string, number> = {}
  for (const series of run.series) {
    const v = judgeNode(series, run)
    const warmRss = median(series.samples.filter((s) => s.t >= run.warmupS).map((s) => s.node.rssMB))
    const rssBound = Math.max(BOUNDS.rssMB, BOUNDS.rssShare * warmRss)
    const n = series.name
    const [ledgerFirst, ledgerSecond] = v.ledgerBytesPerJob
    if (v.rssGrowthMB > rssBound)
      unbounded.push(`${n} RSS +${round(v.rssGrowthMB, 1)} MB after warm-up (bound ${round(rssBound, 1)} MB)`)
    if (v.fdGrowth > BOUNDS.fds) unbounded.push(`${n} open fds +${v.fdGrowth} between quiet points`)
    if (v.connectionGrowth > BOUNDS.connections)
      unbounded.push(`${n} libp2p connections +${v.connectionGrowth} between quiet points`)
    if (v.walMaxKB * 1024 > BOUNDS.walBytes) unbounded.push(`${n} WAL reached ${round(v.walMaxKB)} KB`)
    if (ledgerSecond > ledgerFirst * BOUNDS.ledgerPerJobRise + BOUNDS.ledgerPerJobSlackBytes)
      unbounded.push(`${n} ledger bytes per job rose ${round(ledgerFirst)} -> ${round(ledgerSecond)}`)
    const repBoundKB = ((run.peersJoined + 2) * BOUNDS.reputationBytesPerPeer) / 1024
    if (v.reputationGrowthKB > repBoundKB)
      unbounded.push(`${n} reputation.sqlite +${round(v.reputationGrowthKB)} KB (bound ${round(repBoundKB)} KB)`)
    metrics[`soak.${n}RssGrowthMB`] = round(v.rssGrowthMB, 1)
    metrics[`soak.${n}RssWarmupGrowthMB`] = round(v.rssWarmupGrowthMB, 1)
    metrics[`soak.${n}RssSlopeMBPerHour`] = round(v.rssSlopeMBPerHour, 1)
    metrics[`soak.${n}RssMB`] = round(warmRss, 1)
    metrics[`soak.${n}HeapGrowthMB`] = round(v.heapGrowthMB, 1)
    metrics[`soak.${n}FdGrowth`] = v.fdGrowth
    metrics[`soak.${n}DbGrowthKB`] = round(v.dbGrowthKB, 1)
    metrics[`soak.${n}LedgerBytesPerJob`] = round(ledgerSecond, 0)
    metrics[`soak.${n}WalMaxKB`] = round(v.walMaxKB, 0)
    metrics[`soak.${n}ReputationGrowthKB`] = round(v.reputationGrowthKB, 1)
    const lastDb = series.samples[series.samples.length - 1].node.db
    metrics[`soak.${n}LedgerRows`] = lastDb.ledgerRows
    metrics[`soak.${n}ObservationRows`] = lastDb.observationRows
    worst.rssGrowthMB = Math.max(worst.rssGrowthMB ?? -Infinity, metrics[`soak.${n}RssGrowthMB`])
    worst.fdGrowth = Math.max(worst.fdGrowth ?? -Infinity, v.fdGrowth)
    worst.dbGrowthKB = Math.max(worst.dbGrowthKB ?? -Infinity, metrics[`soak.${n}DbGrowthKB`])
  }
  if (Number.isNaN(run.containersLeft)) unbounded.push('labelled containers could not be counted (docker ps failed)')
  else if (run.containersLeft > 0) unbounded.push(`${run.containersLeft} labelled containers left`)
  if (run.failed > 0) unbounded.push(`${run.failed} requests failed while the honest provider was live`)
  return {
    metrics: {
      'soak.rssGrowthMB': worst.rssGrowthMB,
      'soak.fdGrowth': worst.fdGrowth,
      'soak.dbGrowthKB': worst.dbGrowthKB,
      'soak.containersLeft': run.containersLeft,
      'soak.bounded': unbounded.length === 0 ? 1 : 0,
      ...metrics
    },
    unbounded
  }
}
