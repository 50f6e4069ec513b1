import { readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { PriceUpdate } from '../../../shared/price'
import { type Config, ConfigSchema } from '../config'
import { InvalidRequestError } from '../util/errors'

/**
 * Applies a price change from the dashboard: merged into `<dataDir>/config.json` (so it survives a
 * restart; flags given to `meshwork start` still win over the file) and into the running config,
 * which the advert and the receipts read.
 */
export async function updatePrices(config: Config, update: PriceUpdate): Promise<void> {
  const path = join(config.dataDir, 'config.json')
  let file: Record<string, unknown> = {}
  try {
    const text = await readFile(path, 'utf8')
    if (text.length > 256 * 1024) throw new InvalidRequestError(`${path} is larger than 256 KiB`)
    file = JSON.parse(text) as Record<string, unknown>
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const next = { ...file, ...update }
  const checked = ConfigSchema.safeParse({ ...next, dataDir: config.dataDir })
  if (!checked.success)
    throw new InvalidRequestError(
      `prices: ${checked.error.issues[0]?.path.join('.')} ${checked.error.issues[0]?.message}`
    )
  await writeFile(`${path}.tmp`, JSON.stringify(next, null, 2) + '\n', { mode: 0o600 })
  await rename(`${path}.tmp`, path)
  if (update.pricePerMillionTokens !== undefined) config.pricePerMillionTokens = update.pricePerMillionTokens
  if (update.prices !== undefined) config.prices = update.prices
  if (update.priceUnit !== undefined) config.priceUnit = update.priceUnit
}
