// Only Node's own globals here: the `meshwork` command calls this before libp2p loads.

/** Node's pool size before Node 24 raised it to 64 KiB. */
const POOL_BYTES = 8 * 1024

/**
 * Node cuts each small `Buffer.allocUnsafe` (under half the pool) from a shared slab of
 * `Buffer.poolSize` bytes, and a slab lives as long as any slice of it does. libp2p keeps small
 * slices for as long as it knows a peer (ids, keys, addresses, routing-table distances), each
 * taken at a different time, so nearly every one kept a slab of its own alive: on Node 24, with
 * 64 KiB slabs, a router under churn grew by about 30 KB of memory outside the heap per peer that
 * had joined. Node's earlier 8 KiB slabs cut that to what the slices themselves hold, near enough.
 * Both entries call it before anything allocates.
 */
export function useSmallBufferPool(): void {
  if (Buffer.poolSize > POOL_BYTES) Buffer.poolSize = POOL_BYTES
}
