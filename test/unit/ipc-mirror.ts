// Compile-time half of the IPC contract check: type-checked by `npm run typecheck` and, on its own,
// by test/unit/ipc-contract.test.ts (so `vitest run` fails on drift too).
import type { NodeEventMap } from '../../electron/core/events'
import type { PushEventName, PushEvents } from '../../shared/ipc'

/** True only when A and B are the same type (not merely assignable one way). */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false

/** Push events whose payload the node's event map and the dashboard contract describe differently. */
export type DriftedPushEvents = {
  [K in PushEventName]: Same<NodeEventMap[K][0], PushEvents[K]> extends true ? never : K
}[PushEventName]

/** Does not compile, and names the event, when a payload drifts. */
export const pushEventsMirrorNodeEvents: [DriftedPushEvents] extends [never] ? true : { drifted: DriftedPushEvents } =
  true
