import type { DeltaFrame } from '../../../shared/infer'

/**
 * Whether `next` may join `into` without losing anything the consumer counts: token ids on both
 * (a delta without ids counts as one token, so two of them cannot become one), and nothing that
 * only a stream's first delta carries (prompt ids, the runtime's stop strings).
 */
export function joinable(into: DeltaFrame, next: DeltaFrame): boolean {
  return (
    into.tokenIds !== undefined &&
    next.tokenIds !== undefined &&
    next.promptTokenIds === undefined &&
    next.stop === undefined &&
    into.approximate === next.approximate
  )
}

/** One delta for two joinable ones: text and token ids concatenated, in order, exactly. */
export function joinDeltas(into: DeltaFrame, next: DeltaFrame): DeltaFrame {
  const out: DeltaFrame = { ...into, text: into.text + next.text }
  out.tokenIds = into.tokenIds!.concat(next.tokenIds!)
  return out
}

/**
 * Takes `first` and every delta already waiting behind it that may join it (`take` returns the
 * next waiting frame only when it is a joinable delta): one frame for what is already here,
 * never a wait for more.
 */
export function coalesceWaiting(first: DeltaFrame, take: (into: DeltaFrame) => DeltaFrame | undefined): DeltaFrame {
  let out = first
  for (let next = take(out); next !== undefined; next = take(out)) out = joinDeltas(out, next)
  return out
}
