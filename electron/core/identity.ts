import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from './util/logger'

const KEY_FILE = 'peer-key'

/**
 * The node's Ed25519 identity, persisted in the data dir (mode 0600) so the peer id survives restarts.
 * The key never leaves this file and the process.
 */
export async function loadOrCreateIdentity(dataDir: string, logger: Logger): Promise<PrivateKey> {
  const path = join(dataDir, KEY_FILE)
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  try {
    const bytes = await readFile(path)
    const mode = (await stat(path)).mode & 0o777
    if (mode !== 0o600) {
      logger.warn('peer key had loose permissions; tightening to 0600', { path, mode: mode.toString(8) })
      await chmod(path, 0o600)
    }
    return privateKeyFromProtobuf(bytes)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new Error(`Cannot read the peer key at ${path}: ${(err as Error).message}`, { cause: err })
    }
  }
  const key = await generateKeyPair('Ed25519')
  const temp = `${path}.${process.pid}.tmp`
  await writeFile(temp, privateKeyToProtobuf(key), { mode: 0o600 })
  await rename(temp, path)
  logger.info('created a new peer identity', { path })
  return key
}
