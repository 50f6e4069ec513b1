// `npm run bench [-- section...]`: speed measured as ratios against a baseline in the same run.
// Sections: runtime (container vs in-process worker), routing (mesh vs direct, failover gap).
import { routingBench } from './bench/routing'
import { runtimeBench } from './bench/runtime'

type Section = (log: (line: string) => void) => Promise<Record<string, number>>

const sections: Record<string, Section> = { runtime: runtimeBench, routing: routingBench }

async function main(): Promise<void> {
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'))
  const names = wanted.length > 0 ? wanted : Object.keys(sections)
  const results: Record<string, Record<string, number>> = {}
  for (const name of names) {
    const section = sections[name]
    if (section === undefined) throw new Error(`unknown bench section '${name}' (have: ${Object.keys(sections).join(', ')})`)
    console.log(`\n== ${name}`)
    const started = Date.now()
    results[name] = await section((line) => console.log(`  ${line}`))
    for (const [key, value] of Object.entries(results[name])) console.log(`  ${key.padEnd(40)} ${Number.isInteger(value) ? value : value.toFixed(3)}`)
    console.log(`  (${((Date.now() - started) / 1000).toFixed(1)} s)`)
  }
  console.log('\n' + JSON.stringify(results))
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(`bench failed: ${err.stack ?? err.message}`)
    process.exit(1)
  }
)
