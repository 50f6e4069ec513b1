// Inside a namespace: GET each URL given and print one JSON array of their bodies.
const out = []
for (const url of process.argv.slice(2)) {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) })
  out.push(await res.json())
}
process.stdout.write(JSON.stringify(out))
