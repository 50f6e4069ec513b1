// Failover before the first token: the provider a request went to is SIGKILLed the moment its
// runtime (the bench's fake server) receives the job, so the router must notice the broken stream
// and start over on the other provider. The gap is from the kill to the client's first token.
import { FAKE_MODEL as MODEL, withFakeMesh } from './fake-mesh'
import { type BenchNode, liveProviders, startExternalProvider, until } from './routing-nodes'
import { type BenchContext, type Measured, median, quantile, round } from './stats'

/** Sends a streamed completion; resolves with the time its first text chunk arrived. */
async function firstTokenAt(router: BenchNode): Promise<number> {
  const res = await fetch(router.apiUrl + '/v1/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, prompt: 'ping', max_tokens: 8, stream: true }),
    signal: AbortSignal.timeout(60_000)
  })
  if (!res.ok || !res.body) throw new Error(`request failed: ${res.status} ${await res.text()}`)
  let at = 0
  let text = ''
  for await (const bytes of res.body) {
    text += Buffer.from(bytes).toString()
    if (at === 0 && text.includes('"text":" w')) at = performance.now()
  }
  if (at === 0) throw new Error(`no token came: ${text.slice(0, 300)}`)
  return at
}

export async function failoverBench(ctx: BenchContext): Promise<Measured> {
  const runs = ctx.full ? 30 : 10
  return withFakeMesh({ providers: 2 }, async ({ fakes, bootstrap, providers: slots, router }) => {
    const baseline: number[] = []
    for (let i = 0; i < 20; i++) {
      const sent = performance.now()
      baseline.push((await firstTokenAt(router)) - sent)
    }

    const gaps: number[] = []
    for (let i = 0; i < runs; i++) {
      let armed = true
      let killedAt = 0
      let victim = -1
      fakes.forEach((fake, k) => {
        fake.onGeneration = () => {
          if (!armed) return 'serve'
          armed = false
          victim = k
          killedAt = performance.now()
          slots[k].proc.kill('SIGKILL')
          return 'hold'
        }
      })
      const at = await firstTokenAt(router)
      if (victim < 0) throw new Error('no provider received the job')
      gaps.push(at - killedAt)
      for (const fake of fakes) fake.onGeneration = undefined
      const dead = slots[victim]
      await dead.kill('SIGKILL')
      slots[victim] = await startExternalProvider(fakes[victim].url, MODEL, [bootstrap.multiaddr])
      // the next run starts from two live providers and none dead still listed
      await until(async () => {
        const live = await liveProviders(router, MODEL)
        return live.length === 2 && !live.includes(dead.peerId)
      }, 60_000)
    }
    const out: Measured = {
      'failover.preTokenGapP50Ms': round(median(gaps), 1),
      'failover.preTokenGapP95Ms': round(quantile(gaps, 0.95), 1),
      'failover.ttftBaselineP50Ms': round(median(baseline), 1)
    }
    ctx.log(
      `failover before the first token (${runs} SIGKILLs): kill → first token p50 ${out['failover.preTokenGapP50Ms']} ms, ` +
        `p95 ${out['failover.preTokenGapP95Ms']} ms (ttft without failure p50 ${out['failover.ttftBaselineP50Ms']} ms)`
    )
    return out
  })
}
