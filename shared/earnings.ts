import { z } from 'zod'
import { SignedReceiptSchema } from './receipt'

/** `GET /api/earnings` (its field names are part of the HTTP API): `amount` is in credits; `unit` names them. */
export const TotalsSchema = z.object({
  jobs: z.number().int().nonnegative(),
  promptTokens: z.number().int().nonnegative(),
  completionTokens: z.number().int().nonnegative(),
  amount: z.number().nonnegative()
})
export type Totals = z.infer<typeof TotalsSchema>

const Split = { earned: TotalsSchema, spent: TotalsSchema }

/** Where a receipt sits in this node's ledger: earned as provider, spent as consumer, or served for itself. */
export const LedgerRoleSchema = z.enum(['earned', 'spent', 'self'])
export type LedgerRole = z.infer<typeof LedgerRoleSchema>

export const RecentReceiptSchema = z.object({
  seq: z.number().int().positive(),
  role: LedgerRoleSchema,
  counterparty: z.string(),
  signed: SignedReceiptSchema,
  /** Each signature present and valid, checked when the answer was made. */
  providerSigValid: z.boolean(),
  consumerSigValid: z.boolean()
})
export type RecentReceipt = z.infer<typeof RecentReceiptSchema>

export const EarningsResponseSchema = z.object({
  unit: z.string(),
  /** While paused this node takes no jobs, so it earns nothing. */
  paused: z.boolean(),
  earned: TotalsSchema,
  spent: TotalsSchema,
  /** Jobs this node's own runtime served for its own requests: neither earned nor spent. */
  servedForYou: TotalsSchema,
  byDay: z.array(z.object({ day: z.string(), ...Split })),
  byModel: z.array(z.object({ model: z.string(), ...Split })),
  byPeer: z.array(z.object({ peerId: z.string(), ...Split })),
  recent: z.array(RecentReceiptSchema),
  ledger: z.object({
    entries: z.number().int().nonnegative(),
    headSeq: z.number().int().nonnegative(),
    headHash: z.string()
  })
})
export type EarningsResponse = z.infer<typeof EarningsResponseSchema>

export const EarningsQuerySchema = z.strictObject({
  /** Days back from today (UTC) that byDay covers. */
  days: z.number().int().min(1).max(366).optional(),
  recent: z.number().int().min(0).max(500).optional()
})
export type EarningsQuery = z.infer<typeof EarningsQuerySchema>

/** `meshwork earnings --verify` and the dashboard's verify button. */
export const VerifyReportSchema = z.object({
  ok: z.boolean(),
  entries: z.number().int().nonnegative(),
  receipts: z.number().int().nonnegative(),
  signaturesChecked: z.number().int().nonnegative(),
  problems: z.array(z.object({ seq: z.number().int().nonnegative(), problem: z.string() })).max(1000)
})
export type VerifyReport = z.infer<typeof VerifyReportSchema>
