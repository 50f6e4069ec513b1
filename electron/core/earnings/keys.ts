import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto'
import { fromHex, toHex } from '../../../shared/receipt'

/** Signs with the node's libp2p Ed25519 key, synchronously (so a ledger append is one step). */
export interface Signer {
  readonly peerId: string
  /** Hex Ed25519 signature of `bytes`. */
  sign(bytes: Uint8Array): string
}

const b64url = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url')

export function signerFromKey(key: PrivateKey): Signer {
  if (key.type !== 'Ed25519') throw new Error(`receipts need an Ed25519 peer key, not ${key.type}`)
  // libp2p keeps an Ed25519 private key as seed (32 bytes) + public key (32 bytes)
  const keyObject = createPrivateKey({
    format: 'jwk',
    key: { kty: 'OKP', crv: 'Ed25519', d: b64url(key.raw.subarray(0, 32)), x: b64url(key.publicKey.raw) }
  })
  const peerId = peerIdFromPrivateKey(key).toString()
  return { peerId, sign: (bytes) => toHex(sign(null, bytes, keyObject)) }
}

const publicKeys = new Map<string, KeyObject | null>()

/** The Ed25519 public key a peer id embeds, or null when it embeds none (or is not a peer id). */
function publicKeyOf(peerId: string): KeyObject | null {
  let key = publicKeys.get(peerId)
  if (key !== undefined) return key
  try {
    const publicKey = peerIdFromString(peerId).publicKey
    key =
      publicKey?.type === 'Ed25519'
        ? createPublicKey({ format: 'jwk', key: { kty: 'OKP', crv: 'Ed25519', x: b64url(publicKey.raw) } })
        : null
  } catch {
    key = null
  }
  if (publicKeys.size > 10_000) publicKeys.clear()
  publicKeys.set(peerId, key)
  return key
}

/** True when `signature` (hex) over `bytes` was made by the key of `peerId`. Never throws. */
export function verifiedBy(peerId: string, bytes: Uint8Array, signature: string | undefined): boolean {
  if (signature === undefined || !/^[0-9a-f]{128}$/.test(signature)) return false
  const key = publicKeyOf(peerId)
  if (key === null) return false
  try {
    return verify(null, bytes, key, fromHex(signature))
  } catch {
    return false
  }
}
