import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createLaunchSecret, removeLaunchSecrets } from '../../../electron/core/runtime/launch-secret'

const dir = mkdtempSync(join(tmpdir(), 'meshwork-secret-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('launch secret', () => {
  it('writes a fresh token per launch into a read-only file under a private run dir', async () => {
    const run = join(dir, 'run')
    const a = await createLaunchSecret(run)
    const b = await createLaunchSecret(run)
    expect(a.token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(b.token).not.toBe(a.token)
    expect(readFileSync(a.tokenFile, 'utf8').trim()).toBe(a.token)
    expect(statSync(run).mode & 0o777).toBe(0o700)
    expect(statSync(a.tokenFile).mode & 0o777).toBe(0o444)
    expect(statSync(a.socketDir).mode & 0o777).toBe(0o777)
    await a.remove()
    expect(existsSync(a.tokenFile)).toBe(false)
    expect(existsSync(b.tokenFile)).toBe(true)
  })

  it('removes only what node processes that are gone left behind', async () => {
    const run = join(dir, 'stale')
    const mine = await createLaunchSecret(run)
    mkdirSync(join(run, 'worker-999999999-abc'), { recursive: true })
    expect(await removeLaunchSecrets(run)).toBe(1)
    expect(existsSync(join(run, 'worker-999999999-abc'))).toBe(false)
    expect(existsSync(mine.tokenFile)).toBe(true)
  })
})
