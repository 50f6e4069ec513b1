import { describe, expect, it } from 'vitest'
import { DecayedSum, PeerEvidence, speedLie } from '../../../electron/core/reputation/evidence'

describe('speed rule', () => {
  it('needs three samples, all below a third of the advert (of a tenth, with nobody to compare with)', () => {
    expect(speedLie([10, 10], 100, 100)).toBe(false)
    expect(speedLie([10, 10, 10], 100, 100)).toBe(true)
    // one good sample among them: a busy honest box, not a liar
    expect(speedLie([10, 80, 10], 100, 100)).toBe(false)
    expect(speedLie([10, 10, 10], undefined, 100)).toBe(false)
    expect(speedLie([20, 20, 20], 100)).toBe(false)
    expect(speedLie([5, 5, 5], 100)).toBe(true)
  })

  it('does not blame a provider for what slows every provider alike (this node’s load, its network)', () => {
    // everyone measures at a fifth of the advert now: nobody is lying
    expect(speedLie([20, 20, 20], 100, 20)).toBe(false)
    // this one is three times slower than the rest
    expect(speedLie([5, 5, 5], 100, 20)).toBe(true)
  })
})

describe('decayed sums', () => {
  it('halve every half-life and add up', () => {
    const s = new DecayedSum()
    s.add(8, 0, 1000)
    expect(s.valueAt(1000, 1000)).toBeCloseTo(4)
    s.add(4, 1000, 1000)
    expect(s.valueAt(2000, 1000)).toBeCloseTo(4)
  })
})

describe('a caught lie', () => {
  it('is cleared only by a pass checked against a reference, never by an unchecked one', () => {
    const e = new PeerEvidence()
    const day = 86_400_000
    e.apply({ peer: 'p', at: 1, kind: 'challenge', verdict: 'mismatch', weight: -3 }, day)
    expect(e.caughtAt).toBe(1)
    e.apply({ peer: 'p', at: 2, kind: 'challenge', verdict: 'pass', weight: 0.2 }, day)
    expect(e.caughtAt).toBe(1)
    e.apply({ peer: 'p', at: 3, kind: 'challenge', verdict: 'pass', weight: 1, crossChecked: true }, day)
    expect(e.caughtAt).toBeUndefined()
  })

  it('is a proven lie only: a challenge that got no answer counts against the provider but catches nobody', () => {
    const e = new PeerEvidence()
    const day = 86_400_000
    for (const [at, verdict] of [
      [1, 'failed'],
      [2, 'refused']
    ] as const)
      e.apply({ peer: 'p', at, kind: 'challenge', verdict, weight: -2, detail: 'challenge_timeout' }, day)
    expect(e.caughtAt).toBeUndefined()
    expect(e.negative.valueAt(2, day)).toBeGreaterThan(3.9)
    e.apply({ peer: 'p', at: 3, kind: 'challenge', verdict: 'truncated', weight: -6 }, day)
    expect(e.caughtAt).toBe(3)
  })
})
