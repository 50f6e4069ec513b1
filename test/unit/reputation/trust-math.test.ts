import { describe, expect, it } from 'vitest'
import {
  DEFAULT_TRUST_PARAMS as P,
  computeTrust,
  newcomerTrust,
  type Mass,
  type Report
} from '../../../electron/core/reputation/trust-math'

/** A seeded generator, so the simulated mesh is the same on every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

describe('trust math', () => {
  it('starts a newcomer low but above the threshold, and lets it earn trust by serving', () => {
    const t0 = newcomerTrust()
    expect(t0).toBeLessThan(0.5)
    expect(t0).toBeGreaterThan(P.threshold)
    const served = computeTrust({
      self: 'me',
      preTrusted: new Set(),
      direct: new Map([['p', { positive: 6, negative: 0 }]]),
      reports: []
    })
    expect(served.trust.get('p')!).toBeGreaterThan(0.8)
  })

  it('puts a provider caught in two challenges below the threshold', () => {
    const r = computeTrust({
      self: 'me',
      preTrusted: new Set(),
      direct: new Map([['liar', { positive: 1, negative: 10 }]]),
      reports: []
    })
    expect(r.trust.get('liar')!).toBeLessThan(P.threshold)
  })

  it('caps one reporter: a single loud reporter cannot exclude a provider nobody else has judged', () => {
    const reports: Report[] = [{ reporter: 'loud', subject: 'p', positive: 0, negative: 1000, caught: true }]
    const r = computeTrust({ self: 'me', preTrusted: new Set(), direct: new Map(), reports })
    expect(r.trust.get('p')!).toBeGreaterThan(P.threshold)
  })

  it('needs two witnesses: one reporter it trusts cannot exclude a provider on its word alone', () => {
    // 'good' served this node well and agrees with it on 'q': it is heard at a high weight
    const direct = new Map<string, Mass>([
      ['good', { positive: 8, negative: 0 }],
      ['good2', { positive: 8, negative: 0 }],
      ['q', { positive: 6, negative: 0 }]
    ])
    const against = (reporter: string): Report[] => [
      { reporter, subject: 'q', positive: 6, negative: 0, caught: false },
      { reporter, subject: 'p', positive: 0, negative: 4, caught: true }
    ]
    const one = computeTrust({ self: 'me', preTrusted: new Set(), direct, reports: against('good') })
    expect(one.reporterWeight.get('good')!).toBeGreaterThan(0.5)
    expect(one.trust.get('p')!).toBeGreaterThanOrEqual(P.threshold)
    expect(one.trust.get('p')!).toBeLessThan(newcomerTrust())
    const two = computeTrust({
      self: 'me',
      preTrusted: new Set(),
      direct,
      reports: [...against('good'), ...against('good2')]
    })
    expect(two.trust.get('p')!).toBeLessThan(P.threshold)
    // this node's own evidence needs no witness
    const own = new Map([...direct, ['p', { positive: 0, negative: 6 }]])
    expect(computeTrust({ self: 'me', preTrusted: new Set(), direct: own, reports: [] }).trust.get('p')!).toBeLessThan(
      P.threshold
    )
  })

  it('hears pre-trusted peers fully and unknown ones a little', () => {
    const reports: Report[] = [
      { reporter: 'friend', subject: 'a', positive: 0, negative: 4, caught: true },
      { reporter: 'stranger', subject: 'b', positive: 0, negative: 4, caught: true }
    ]
    const r = computeTrust({ self: 'me', preTrusted: new Set(['friend']), direct: new Map(), reports })
    expect(r.reporterWeight.get('friend')).toBe(1)
    expect(r.reporterWeight.get('stranger')!).toBeLessThan(0.5)
    expect(r.trust.get('a')!).toBeLessThan(P.threshold)
    expect(r.trust.get('a')!).toBeLessThan(r.trust.get('b')!)
  })

  it('ignores reports about the receiver itself and self-praise', () => {
    const reports: Report[] = [
      { reporter: 'x', subject: 'me', positive: 0, negative: 4, caught: true },
      { reporter: 'x', subject: 'x', positive: 4, negative: 0, caught: false }
    ]
    const r = computeTrust({ self: 'me', preTrusted: new Set(), direct: new Map(), reports })
    expect(r.gossip.get('me')).toBeUndefined()
    expect(r.gossip.get('x')).toBeUndefined()
  })

  it('ignores praise of a provider this node caught lying itself', () => {
    const direct = new Map<string, Mass>([['liar', { positive: 0, negative: 7 }]])
    const reports: Report[] = Array.from({ length: 6 }, (_, i) => ({
      reporter: `r${i}`,
      subject: 'liar',
      positive: 4,
      negative: 0,
      caught: false
    }))
    const input = { self: 'me', preTrusted: new Set(['r0', 'r1', 'r2']), direct, reports }
    expect(computeTrust(input).trust.get('liar')!).toBeGreaterThan(P.threshold)
    expect(computeTrust({ ...input, caught: new Set(['liar']) }).trust.get('liar')!).toBeLessThan(P.threshold)
  })

  it('puts direct experience first: gossip cannot overturn a long record', () => {
    const direct = new Map<string, Mass>([['p', { positive: 40, negative: 0 }]])
    const reports: Report[] = Array.from({ length: 20 }, (_, i) => ({
      reporter: `s${i}`,
      subject: 'p',
      positive: 0,
      negative: 4,
      caught: true
    }))
    const r = computeTrust({ self: 'me', preTrusted: new Set(), direct, reports })
    expect(r.trust.get('p')!).toBeGreaterThan(0.8)
  })

  it('decides on gossip from distrusted reporters less than on trusted ones (reporter weight follows provider trust)', () => {
    const direct = new Map<string, Mass>([
      ['good', { positive: 8, negative: 0 }],
      ['bad', { positive: 0, negative: 8 }]
    ])
    const reports: Report[] = [
      { reporter: 'good', subject: 'z', positive: 4, negative: 0, caught: false },
      { reporter: 'bad', subject: 'y', positive: 4, negative: 0, caught: false }
    ]
    const r = computeTrust({ self: 'me', preTrusted: new Set(), direct, reports })
    expect(r.reporterWeight.get('good')!).toBeGreaterThan(3 * r.reporterWeight.get('bad')!)
    expect(r.trust.get('z')!).toBeGreaterThan(r.trust.get('y')!)
  })

  it('withstands 30% colluders praising liars and smearing honest providers', () => {
    const random = rng(7)
    const honestProviders = Array.from({ length: 6 }, (_, i) => `H${i}`)
    const liars = ['L0', 'L1']
    const providers = [...honestProviders, ...liars]
    const honestRouters = Array.from({ length: 14 }, (_, i) => `R${i}`)
    const colluders = Array.from({ length: 6 }, (_, i) => `C${i}`)
    // each honest router has served with a few providers; a liar it met was caught in a challenge
    const directOf = new Map<string, Map<string, Mass>>()
    for (const router of honestRouters) {
      const seen = new Map<string, Mass>()
      for (const p of providers) {
        if (random() > 0.5) continue
        seen.set(
          p,
          p.startsWith('L')
            ? { positive: random(), negative: 6 + 6 * random() }
            : { positive: 3 + 4 * random(), negative: random() < 0.2 ? 1 : 0 }
        )
      }
      directOf.set(router, seen)
    }
    const reports: Report[] = []
    for (const [router, seen] of directOf)
      for (const [subject, m] of seen)
        reports.push({ reporter: router, subject, ...m, caught: subject.startsWith('L') })
    for (const c of colluders) {
      for (const l of liars) reports.push({ reporter: c, subject: l, positive: 1000, negative: 0, caught: false })
      for (const h of honestProviders)
        reports.push({ reporter: c, subject: h, positive: 0, negative: 1000, caught: true })
      for (const other of colluders)
        if (other !== c) reports.push({ reporter: c, subject: other, positive: 1000, negative: 0, caught: false })
    }
    let honestShare = 0
    for (const router of honestRouters) {
      const r = computeTrust({
        self: router,
        preTrusted: new Set(),
        direct: directOf.get(router)!,
        reports: reports.filter((x) => x.reporter !== router)
      })
      const t = (p: string): number => r.trust.get(p) ?? newcomerTrust()
      // every honest provider ranks above every liar, and none is excluded
      expect(Math.min(...honestProviders.map(t))).toBeGreaterThan(Math.max(...liars.map(t)))
      for (const h of honestProviders) expect(t(h)).toBeGreaterThanOrEqual(P.threshold)
      // route 1,000 requests power-of-two-choices on trust among providers not excluded
      const usable = providers.filter((p) => t(p) >= P.threshold)
      let honest = 0
      for (let i = 0; i < 1000; i++) {
        const a = usable[Math.floor(random() * usable.length)]
        const b = usable[Math.floor(random() * usable.length)]
        if (!(t(a) >= t(b) ? a : b).startsWith('L')) honest++
      }
      honestShare += honest / 1000 / honestRouters.length
    }
    expect(honestShare).toBeGreaterThanOrEqual(0.95)
  })
})
