import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { AcceptFrame, DeltaFrame, FinalFrame, RequestFrame } from '../../../shared/infer'
import { InferError } from '../../../shared/infer-error'
import type { ChallengeTransport } from '../../../electron/core/reputation/challenge'
import { type ChallengeTarget, Challenger, type ChallengerInit } from '../../../electron/core/reputation/challenger'
import { ObservationStore } from '../../../electron/core/reputation/observation-store'
import { TrustEngine } from '../../../electron/core/reputation/trust-engine'
import { createLogger } from '../../../electron/core/util/logger'
import type { AttemptOutcome } from '../../../electron/core/events'

type Frame = AcceptFrame | DeltaFrame | FinalFrame
const SHA = 'a'.repeat(64)
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Greedy output is a function of the prompt: the same prompt, the same ids on every honest provider. */
function honestIds(frame: RequestFrame, n: number): number[] {
  const text = JSON.stringify(frame.call.body)
  let h = 7
  for (const ch of text) h = (h * 31 + ch.charCodeAt(0)) % 997
  return Array.from({ length: n }, (_, i) => (h + i * 13) % 380)
}

type Behaviour = 'honest' | 'garbage' | 'random' | 'drop' | 'slow' | 'busy'
function transport(behaviours: Record<string, Behaviour>, tokenGapMs = 2): ChallengeTransport {
  return async function* (peerId, frame): AsyncGenerator<Frame> {
    const max = frame.call.body.max_tokens ?? 16
    const b = behaviours[peerId]
    if (b === 'busy') throw new InferError('provider_busy', 'queue full', 503)
    yield { type: 'accept', sha256: SHA, supportsTokenContinuation: true }
    // 'garbage' is the same garbage every time; 'random' differs from any other answer, and is fast
    const ids =
      b === 'garbage'
        ? Array.from({ length: max }, (_, i) => (i * 7 + 3) % 50)
        : b === 'random'
          ? Array.from({ length: max }, () => 400 + Math.floor(Math.random() * 10_000))
          : honestIds(frame, max)
    for (let i = 0; i < ids.length; i++) {
      if (b === 'drop' && i === Math.floor(max / 2)) throw new InferError('provider_stream_ended', 'closed')
      await sleep(b === 'slow' ? tokenGapMs * 10 : b === 'random' ? 0 : tokenGapMs)
      yield { type: 'delta', text: `t${ids[i]} `, tokenIds: [ids[i]] }
    }
    yield { type: 'final', finishReason: 'length', usage: { prompt_tokens: 5, completion_tokens: max } }
  }
}

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function setup(
  behaviours: Record<string, Behaviour>,
  adverts: Record<string, number> = {},
  onSettled?: (outcome: AttemptOutcome) => void
) {
  const dir = mkdtempSync(join(tmpdir(), 'mw-chal-'))
  dirs.push(dir)
  const store = new ObservationStore(join(dir, 'r.sqlite'))
  const engine = new TrustEngine({ self: 'me', store, advertSpeed: (p) => adverts[p], speedSpanMs: 0 })
  const targets: ChallengeTarget[] = Object.keys(behaviours).map((peerId) => ({ peerId, model: 'm', sha256: SHA }))
  const init: ChallengerInit = {
    self: 'me',
    engine,
    transport: transport(behaviours),
    targets: () => targets,
    logger: createLogger('t', { level: 'error' }),
    maxTokens: 24,
    probeBaseMs: 60_000,
    tickMs: 1,
    // first checks at once (the spread after first sight has its own test)
    random: () => 0,
    onSettled
  }
  return { engine, challenger: new Challenger(init), init, targets, store, dir }
}

describe('verification challenges', () => {
  it('hands every challenge job on a peer to the accounting, with the final frame that holds its receipt', async () => {
    const settled: AttemptOutcome[] = []
    const { challenger, targets } = setup({ h1: 'honest', h2: 'honest', dropper: 'drop' }, {}, (o) => settled.push(o))
    await challenger.challenge(targets[0])
    expect(settled.length).toBeGreaterThanOrEqual(1)
    expect(settled[0]).toMatchObject({ provider: 'h1', kind: 'ok', tokens: 24, final: { type: 'final' } })
    expect(settled.every((o) => o.requestId === settled[0].requestId)).toBe(true)
    settled.length = 0
    await challenger.challenge(targets[2], [])
    expect(settled[0]).toMatchObject({ provider: 'dropper', kind: 'failed', tokens: 12 })
    expect(settled[0].final).toBeUndefined()
  })

  it('counts a runtime without token ids as its receipt does (text deltas), not by the usage it reports', async () => {
    const settled: AttemptOutcome[] = []
    const { init, targets } = setup({ p: 'honest' }, {}, (o) => settled.push(o))
    // an external runtime that put several tokens in each of its 3 text deltas and reports 24 in usage
    const textOnly: ChallengeTransport = async function* () {
      yield { type: 'accept', sha256: SHA, supportsTokenContinuation: false }
      for (const text of ['a b c', 'd e f', 'g h']) yield { type: 'delta', text }
      yield { type: 'final', finishReason: 'length', usage: { prompt_tokens: 5, completion_tokens: 24 } }
    }
    await new Challenger({ ...init, transport: textOnly }).challenge(targets[0])
    expect(settled[0]).toMatchObject({ provider: 'p', kind: 'ok', tokens: 3 })
  })

  it('catches garbage output by comparing token ids with two agreeing providers, then with a cross-checked one', async () => {
    const { engine, challenger, targets } = setup({ garbage: 'garbage', h1: 'honest', h2: 'honest' })
    expect(await challenger.challenge(targets[0])).toBe('mismatch')
    expect(engine.excludedReason('garbage')).toMatch(/mismatch/)
    expect(await challenger.challenge(targets[1])).toBe('pass')
    expect(engine.crossChecked('h1')).toBe(true)
    expect(await challenger.challenge(targets[0])).toBe('mismatch')
    expect(engine.trust('h1')).toBeGreaterThan(0.5)
  })

  it('lets a proven lie forfeit the credit of jobs that merely answered', async () => {
    const { engine, challenger, targets } = setup({ garbage: 'garbage', h1: 'honest', h2: 'honest' })
    for (let i = 0; i < 30; i++) engine.noteAttempt({ provider: 'garbage', local: false, kind: 'ok', tokens: 32 })
    expect(engine.trust('garbage')).toBeGreaterThan(0.9)
    expect(await challenger.challenge(targets[0])).toBe('mismatch')
    expect(engine.excludedReason('garbage')).toBeDefined()
  })

  it('does not condemn anyone on one unverified reference that disagrees', async () => {
    const { engine, challenger, targets } = setup({ garbage: 'garbage', h1: 'honest' })
    expect(await challenger.challenge(targets[0])).toBe('pass')
    expect(await challenger.challenge(targets[1])).toBe('pass')
    expect(engine.crossChecked('h1')).toBe(false)
    expect(engine.excludedReason('h1')).toBeUndefined()
  })

  it('asks other references after two that disagreed with each other, so a pair with a liar in it shields no liar', async () => {
    // two fast liars, listed first: each is the other's first reference (beside an honest one) and
    // both are every honest provider's references, so every first check decides nothing
    const { engine, challenger } = setup({ liarA: 'random', liarB: 'random', h1: 'honest', h2: 'honest', h3: 'honest' })
    const verdicts: Array<string | undefined> = []
    for (let i = 0; i < 30; i++) {
      const verdict = await challenger.tick()
      if (verdict === undefined && verdicts.at(-1) === undefined && i > 10) break
      verdicts.push(verdict)
      await sleep(5)
    }
    expect(engine.excludedReason('liarA')).toMatch(/mismatch/)
    expect(engine.excludedReason('liarB')).toMatch(/mismatch/)
    for (const h of ['h1', 'h2', 'h3']) {
      expect(engine.excludedReason(h)).toBeUndefined()
      expect(engine.crossChecked(h)).toBe(true)
    }
  })

  it('does not let checks whose references never answer use up the rechecks, and stops them after a bound', async () => {
    const behaviours: Record<string, Behaviour> = { liar: 'random', h1: 'busy', h2: 'busy' }
    const { engine, challenger } = setup(behaviours)
    // first sight of each, then rechecks of the liar: its references refuse every time
    for (let i = 0; i < 6; i++) {
      await challenger.tick()
      await sleep(5)
    }
    expect(engine.challengesSent('liar')).toBeGreaterThanOrEqual(3)
    expect(engine.excludedReason('liar')).toBeUndefined()
    behaviours.h1 = 'honest'
    behaviours.h2 = 'honest'
    for (let i = 0; i < 6 && engine.excludedReason('liar') === undefined; i++) {
      await challenger.tick()
      await sleep(5)
    }
    expect(engine.excludedReason('liar')).toMatch(/mismatch/)
    // references that never answer: the rechecks stop after a bound
    const { engine: e2, challenger: c2 } = setup({ liar: 'random', h1: 'busy', h2: 'busy' })
    for (let i = 0; i < 40; i++) {
      await c2.tick()
      await sleep(5)
    }
    expect(e2.challengesSent('liar')).toBeLessThanOrEqual(6)
  })

  it('counts a stream dropped halfway as truncated and an honest refusal as no evidence', async () => {
    const { engine, challenger, targets } = setup({ dropper: 'drop', busy: 'busy' })
    expect(await challenger.challenge(targets[0])).toBe('truncated')
    expect(engine.excludedReason('dropper')).toBeDefined()
    const before = engine.trust('busy')
    expect(await challenger.challenge(targets[1])).toBe('refused')
    expect(engine.trust('busy')).toBe(before)
  })

  it('calls an advert a lie after three samples below a third of it, but not a busy honest box', async () => {
    const { engine, challenger, targets } = setup(
      { liar: 'honest', busyHonest: 'slow' },
      { liar: 50_000, busyHonest: 100 }
    )
    const verdicts = []
    for (let i = 0; i < 3; i++) verdicts.push(await challenger.challenge(targets[0]))
    expect(verdicts).toEqual(['pass', 'pass', 'slow'])
    expect(engine.excludedReason('liar')).toMatch(/slow/)
    for (let i = 0; i < 4; i++) expect(await challenger.challenge(targets[1])).toBe('pass')
    expect(engine.excludedReason('busyHonest')).toBeUndefined()
  })

  it('follows a speed in doubt with more challenges until the rule decides', async () => {
    const { engine, challenger } = setup({ h1: 'honest', liar: 'slow' }, { liar: 50_000 })
    const verdicts = []
    for (let i = 0; i < 5; i++) verdicts.push(await challenger.tick())
    // first sight of both, then the liar twice more (its speed is in doubt), then nothing is due
    expect(verdicts).toEqual(['pass', 'pass', 'pass', 'slow', undefined])
    expect(engine.excludedReason('liar')).toMatch(/slow/)
    expect(engine.excludedReason('h1')).toBeUndefined()
  })

  it('probes an excluded provider again later (first sight first), so it can recover', async () => {
    const { engine, challenger } = setup({ dropper: 'drop', h1: 'honest' })
    expect(await challenger.tick()).toBe('truncated')
    expect(await challenger.tick()).toBe('pass')
    expect(await challenger.tick()).toBeUndefined()
    expect(challenger.nextProbeAt('dropper')).toBeGreaterThan(Date.now() + 50_000)
    expect(engine.evidence('dropper').why).toMatch(/truncated/)
  })

  it("checks for itself a provider that a peer's gossip says was caught, and backs off while it keeps passing", async () => {
    const behaviours: Record<string, Behaviour> = { turncoat: 'honest', h1: 'honest', h2: 'honest' }
    const { engine, challenger } = setup(behaviours)
    for (let i = 0; i < 12 && (await challenger.tick()) !== undefined; i++) await sleep(5)
    expect(await challenger.tick()).toBeUndefined()
    // the provider turns to garbage; this node has no reason to look until a peer says it caught it
    behaviours.turncoat = 'garbage'
    await sleep(5)
    expect(await challenger.tick()).toBeUndefined()
    expect(engine.excludedReason('turncoat')).toBeUndefined()
    const caught = (peer: string) => ({ peer, positive: 0, negative: 10, caught: true })
    engine.acceptReport('witness', 1, Date.now(), [caught('turncoat')])
    expect(await challenger.tick()).toBe('mismatch')
    expect(engine.excludedReason('turncoat')).toMatch(/mismatch/)
    // a smear of an honest provider costs it one challenge, then nothing until the back-off ends
    engine.acceptReport('smearer', 1, Date.now(), [caught('h1')])
    await sleep(5)
    expect(await challenger.tick()).toBe('pass')
    engine.acceptReport('smearer', 2, Date.now(), [caught('h1')])
    await sleep(5)
    expect(await challenger.tick()).toBeUndefined()
    expect(engine.excludedReason('h1')).toBeUndefined()
  })

  it('verifies a provider that gossip says was caught again at once when its references decided nothing, within a bound', async () => {
    const behaviours: Record<string, Behaviour> = { turncoat: 'honest', h1: 'honest', h2: 'honest' }
    const { engine, challenger } = setup(behaviours)
    for (let i = 0; i < 12 && (await challenger.tick()) !== undefined; i++) await sleep(5)
    expect(engine.crossChecked('turncoat')).toBe(true)
    // it turns to garbage and a peer says so; when this node checks, its references are busy
    behaviours.turncoat = 'garbage'
    behaviours.h1 = 'busy'
    behaviours.h2 = 'busy'
    engine.acceptReport('witness', 1, Date.now(), [{ peer: 'turncoat', positive: 0, negative: 10, caught: true }])
    await sleep(5)
    expect(await challenger.tick()).toBe('pass')
    expect(engine.excludedReason('turncoat')).toBeUndefined()
    // they answer again: the next tick verifies it again instead of waiting out the back-off (60 s)
    behaviours.h1 = 'honest'
    behaviours.h2 = 'honest'
    await sleep(5)
    expect(await challenger.tick()).toBe('mismatch')
    expect(engine.excludedReason('turncoat')).toMatch(/mismatch/)
    // references that never answer: the verifications stop after the bound on undecided checks
    const b2: Record<string, Behaviour> = { turncoat: 'honest', h1: 'honest', h2: 'honest' }
    const { engine: e2, challenger: c2 } = setup(b2)
    for (let i = 0; i < 12 && (await c2.tick()) !== undefined; i++) await sleep(5)
    const before = e2.challengesSent('turncoat')
    Object.assign(b2, { turncoat: 'garbage', h1: 'busy', h2: 'busy' })
    e2.acceptReport('witness', 1, Date.now(), [{ peer: 'turncoat', positive: 0, negative: 10, caught: true }])
    for (let i = 0; i < 40; i++) {
      await c2.tick()
      await sleep(5)
    }
    expect(e2.challengesSent('turncoat') - before).toBeGreaterThan(1)
    expect(e2.challengesSent('turncoat') - before).toBeLessThanOrEqual(6)
  })

  it('spreads first checks after first sight, so a new provider is not hit by the whole mesh at once', async () => {
    const { init, engine } = setup({ h1: 'honest' })
    const spread = new Challenger({ ...init, tickMs: 100, random: () => 0.5 })
    // due 0.5 x 6 ticks = 300 ms after first sight
    expect(await spread.tick()).toBeUndefined()
    await sleep(150)
    expect(await spread.tick()).toBeUndefined()
    expect(engine.challenged('h1')).toBe(false)
    await sleep(200)
    expect(await spread.tick()).toBe('pass')
  })

  it('stops without recording a challenge cut off by the stop (the store closes right after)', async () => {
    const { engine, challenger, targets, store } = setup({ h1: 'slow', h2: 'honest' })
    const inFlight = challenger.challenge(targets[0])
    let settled = false
    void inFlight.catch(() => undefined).finally(() => (settled = true))
    await sleep(30)
    await challenger.stop()
    expect(settled).toBe(true)
    store.close()
    await expect(inFlight).rejects.toThrow(/stopping/)
    expect(engine.challengesSent('h1')).toBe(0)
  })

  it('keeps trust across a restart (the evidence is in SQLite)', async () => {
    const { engine, challenger, targets, store, dir } = setup({ dropper: 'drop', h1: 'honest', h2: 'honest' })
    await challenger.challenge(targets[0])
    await challenger.challenge(targets[1])
    const before = [engine.trust('dropper'), engine.trust('h1')]
    store.close()
    const reopened = new TrustEngine({ self: 'me', store: new ObservationStore(join(dir, 'r.sqlite')) })
    // equal but for the few milliseconds of decay in between
    expect(reopened.trust('dropper')).toBeCloseTo(before[0], 6)
    expect(reopened.trust('h1')).toBeCloseTo(before[1], 6)
    expect(reopened.excludedReason('dropper')).toBeDefined()
  })
})
