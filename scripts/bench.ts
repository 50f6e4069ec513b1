// `npm run bench [-- section...] [--full] [--out FILE]`: speed and scale measured side by side in one
// run with real `meshwork start` processes, printed as a table against the project's targets.
// Sections: routing (mesh vs direct, mid-stream failover), failover (before the first token),
// ledger (recording a served job), discovery, load, idle, reputation, scale, mesh (10/30 peers in one
// process; 100 with --full), and runtime (container vs process) and soak (a churn run)
// only when named or --full.
import { writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { discoveryBench } from './bench/discovery'
import { failoverBench } from './bench/failover'
import { idleBench } from './bench/idle'
import { ledgerBench } from './bench/ledger'
import { loadBench } from './bench/load'
import { meshBench } from './bench/mesh'
import { reputationBench } from './bench/reputation'
import { routingBench } from './bench/routing'
import { stopBenchNodes } from './bench/routing-nodes'
import { runtimeBench } from './bench/runtime'
import { scaleBench } from './bench/scale'
import { soakBench } from './bench/soak'
import { type BenchContext, type Measured, type Section, buildReport, formatTable, round } from './bench/stats'

const sections: Record<string, Section> = {
  routing: routingBench,
  failover: failoverBench,
  discovery: discoveryBench,
  load: loadBench,
  idle: idleBench,
  ledger: ledgerBench,
  reputation: reputationBench,
  scale: scaleBench,
  mesh: meshBench,
  runtime: (ctx) => runtimeBench(ctx.log),
  soak: soakBench
}
/** `runtime` (a cold image build) and `soak` (minutes of churn) are not in the default run, to keep it within 10 minutes on 2 cores. */
const DEFAULT_SECTIONS = ['routing', 'ledger', 'failover', 'discovery', 'load', 'idle', 'reputation', 'scale', 'mesh']

/** Required metrics that no section measures yet, and why. */
const NOT_MEASURED: Record<string, string> = {}

function parseArgs(argv: string[]): { names: string[]; full: boolean; out?: string } {
  const names: string[] = []
  let full = false
  let out: string | undefined
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--full') full = true
    else if (arg === '--out') {
      out = argv[++i]
      if (out === undefined || out.startsWith('-')) throw new Error('--out needs a file name')
    } else if (arg.startsWith('--out=')) out = arg.slice(6)
    else if (arg.startsWith('-')) throw new Error(`unknown option '${arg}' (have: --full, --out FILE)`)
    else names.push(arg)
  }
  for (const name of names)
    if (sections[name] === undefined)
      throw new Error(`unknown bench section '${name}' (have: ${Object.keys(sections).join(', ')})`)
  return { names: names.length > 0 ? names : full ? Object.keys(sections) : DEFAULT_SECTIONS, full, out }
}

async function main(): Promise<void> {
  const { names, full, out } = parseArgs(process.argv.slice(2))
  const startedAt = new Date().toISOString()
  const measured: Measured = {}
  const notes: Record<string, string> = { ...NOT_MEASURED }
  for (const name of names) {
    console.log(`\n== ${name}`)
    const started = Date.now()
    const ctx: BenchContext = {
      full,
      log: (line) => console.log(`  ${line}`),
      note: (key, why) => (notes[key] = why)
    }
    try {
      Object.assign(measured, await sections[name](ctx))
    } catch (err) {
      // one failed section must not lose the others' numbers
      console.log(`  section failed: ${(err as Error).stack ?? String(err)}`)
      notes[`${name}.failed`] = (err as Error).message.slice(0, 300)
      await stopBenchNodes()
    }
    measured[`${name}.seconds`] = round((Date.now() - started) / 1000, 1)
    console.log(`  (${measured[`${name}.seconds`]} s)`)
  }
  const report = buildReport(measured, notes, {
    startedAt,
    machine: {
      cpus: cpus().length,
      memoryGB: round(totalmem() / 2 ** 30, 1),
      platform: `${process.platform}-${process.arch}`,
      node: process.version
    },
    command: ['npm run bench --', ...process.argv.slice(2)].join(' '),
    sections: names
  })
  console.log('\n' + formatTable(report))
  if (out !== undefined) {
    writeFileSync(out, JSON.stringify(report, null, 2) + '\n')
    console.log(`\nwrote ${out}`)
  }
}

// an interrupted bench still kills the nodes it started
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    console.error(`bench interrupted (${signal}): stopping its nodes`)
    void stopBenchNodes().finally(() => process.exit(130))
  })

main().then(
  () => process.exit(0),
  async (err: Error) => {
    console.error(`bench failed: ${err.stack ?? err.message}`)
    await stopBenchNodes()
    process.exit(1)
  }
)
