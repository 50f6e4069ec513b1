import type { PrivateKey, Record } from '@libp2p/interface'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { RecordEnvelope } from '@libp2p/peer-record'
import { equals } from 'uint8arrays/equals'
import { MAX_ADVERT_BYTES, AdvertSchema, type Advert } from '../../../shared/advert'
import { AdvertRejectedError } from '../util/errors'

/** Signature domain: an advert signature can never be replayed as any other libp2p record. */
export const ADVERT_DOMAIN = 'meshwork-advert'
export const ADVERT_CODEC = new TextEncoder().encode('/meshwork/advert/1')

/** Adverts older than this are stale; providers re-sign well before. */
export const ADVERT_MAX_AGE_MS = 120_000
export const ADVERT_MAX_SKEW_MS = 30_000

class AdvertRecord implements Record {
  readonly domain = ADVERT_DOMAIN
  readonly codec = ADVERT_CODEC
  constructor(private readonly bytes: Uint8Array) {}
  marshal(): Uint8Array {
    return this.bytes
  }
  equals(other: Record): boolean {
    return equals(this.marshal(), other.marshal())
  }
}

export async function sealAdvert(advert: Advert, key: PrivateKey): Promise<Uint8Array> {
  const payload = new TextEncoder().encode(JSON.stringify(advert))
  const envelope = await RecordEnvelope.seal(new AdvertRecord(payload), key)
  return envelope.marshal()
}

export interface OpenAdvertOptions {
  /** The peer we expect to have signed it (the stream's remote peer, or the gossip sender). */
  expectedSigner?: string
  now?: number
  maxAgeMs?: number
  maxSkewMs?: number
}

/** Verifies signature, signer, shape and freshness. Sequence numbers are checked by the peer table. */
export async function openAdvert(bytes: Uint8Array, options: OpenAdvertOptions = {}): Promise<Advert> {
  if (bytes.byteLength > MAX_ADVERT_BYTES) throw new AdvertRejectedError(`${bytes.byteLength} bytes is over the limit`)
  let envelope: RecordEnvelope
  try {
    envelope = await RecordEnvelope.openAndCertify(bytes, ADVERT_DOMAIN)
  } catch (err) {
    throw new AdvertRejectedError(`bad envelope or signature (${(err as Error).message})`)
  }
  if (!equals(envelope.payloadType, ADVERT_CODEC)) throw new AdvertRejectedError('not an advert record')
  const signer = peerIdFromPublicKey(envelope.publicKey).toString()
  if (options.expectedSigner !== undefined && signer !== options.expectedSigner) {
    throw new AdvertRejectedError(`signed by ${signer}, not by the remote peer ${options.expectedSigner}`)
  }
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(envelope.payload))
  } catch {
    throw new AdvertRejectedError('payload is not JSON')
  }
  const parsed = AdvertSchema.safeParse(json)
  if (!parsed.success) throw new AdvertRejectedError(`malformed: ${parsed.error.issues[0]?.message ?? 'invalid'}`)
  const advert = parsed.data
  if (advert.peerId !== signer) throw new AdvertRejectedError('advert names another peer than its signer')
  const now = options.now ?? Date.now()
  if (advert.timestamp < now - (options.maxAgeMs ?? ADVERT_MAX_AGE_MS)) throw new AdvertRejectedError('stale timestamp')
  if (advert.timestamp > now + (options.maxSkewMs ?? ADVERT_MAX_SKEW_MS))
    throw new AdvertRejectedError('timestamp in the future')
  return advert
}
