import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'

/**
 * The DHT key under which providers of `model` announce themselves. Every provider also announces
 * `modelCid('*')`, the "any provider" key, so a fresh router can learn which models exist at all.
 */
export async function modelCid(model: string): Promise<CID> {
  const digest = await sha256.digest(new TextEncoder().encode(`meshwork:model:${model}`))
  return CID.createV1(raw.code, digest)
}
