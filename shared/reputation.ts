import { z } from 'zod'

/** gossipsub topic for signed reputation summaries (StrictSign, peer scoring on). */
export const REPUTATION_TOPIC = 'meshwork/reputation/1'

/** Largest summary a peer accepts (bytes on the wire). */
export const MAX_REPORT_BYTES = 16 * 1024
/** Subjects one summary may name. */
export const MAX_REPORT_SUBJECTS = 64
/** Evidence units one reporter may claim about one subject (before decay); more is clipped. */
export const MAX_REPORTED_MASS = 1_000

const PeerIdText = z
  .string()
  .min(16)
  .max(128)
  .regex(/^[1-9A-HJ-NP-Za-km-z]+$/, 'a base58 peer id')
const Mass = z.number().finite().min(0).max(MAX_REPORTED_MASS)

/** What one reporter says it experienced of one provider: decayed positive and negative evidence. */
export const ReportedSubjectSchema = z.object({
  peer: PeerIdText,
  positive: Mass,
  negative: Mass,
  /** The reporter caught this provider lying (speed, output, truncation) in a challenge. */
  caught: z.boolean().optional()
})
export type ReportedSubject = z.infer<typeof ReportedSubjectSchema>

/** The payload of one gossip message; gossipsub's StrictSign signs it with the reporter's key. */
export const ReputationReportSchema = z.object({
  v: z.literal(1),
  reporter: PeerIdText,
  /** Strictly increasing per reporter: a lower or equal one is a replay. */
  seq: z.number().int().nonnegative(),
  /** ms since epoch when it was made (the receiver drops ones outside its window). */
  at: z.number().int().nonnegative(),
  subjects: z.array(ReportedSubjectSchema).max(MAX_REPORT_SUBJECTS)
})
export type ReputationReport = z.infer<typeof ReputationReportSchema>

/** Why a gossiped summary was dropped; counted per reason. */
export const GOSSIP_DROP_REASONS = [
  'oversized',
  'malformed',
  'unsigned',
  'forged',
  'replay',
  'stale',
  'future',
  'rate',
  'self'
] as const
export type GossipDropReason = (typeof GOSSIP_DROP_REASONS)[number]

/** Challenge outcomes; everything but `pass` is evidence against the provider. */
export const CHALLENGE_VERDICTS = ['pass', 'slow', 'mismatch', 'truncated', 'refused', 'failed'] as const
export type ChallengeVerdict = (typeof CHALLENGE_VERDICTS)[number]

/** `/api/peers` `trustEvidence`: what this node's trust in a peer rests on (a type, so it is a plain record). */
export type TrustEvidence = {
  trust: number
  threshold: number
  direct: {
    successes: number
    failures: Record<string, number>
    /** Decayed evidence units behind the numbers above. */
    positive: number
    negative: number
    ttftMs?: number
    /** Decode speed measured by this node's clock. */
    tokensPerSecond?: number
    advertTokensPerSecond?: number
    lastAt?: number
  }
  challenges: {
    sent: number
    passed: number
    byVerdict: Partial<Record<ChallengeVerdict, number>>
    last?: { at: number; verdict: ChallengeVerdict; detail?: string }
    nextProbeAt?: number
  }
  gossip: {
    reporters: number
    positive: number
    negative: number
    caughtBy: number
    /** Weight this node gives the peer's own reports (0..1). */
    reporterWeight: number
    /** Its summaries this node dropped (forged, replayed, oversized, malformed, out of window, too fast). */
    droppedFromIt?: number
  }
  /** One sentence: why the trust is what it is. */
  why: string
}
