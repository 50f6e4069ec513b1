import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../electron/core/config'
import { parseCli } from '../../electron/cli/args'
import { tempDir } from '../helpers/temp-dir'

const dataDir = () => tempDir('meshwork-reach-')

describe('reachability settings', () => {
  it('defaults: relay on with owner limits, two relay slots when behind NAT, UPnP off, AutoNAT decides', () => {
    const config = loadConfig({ dataDir: dataDir() }, {})
    expect(config.relay).toEqual({
      enabled: true,
      maxReservations: 15,
      limitDurationMs: 300_000,
      limitBytes: 16 * 1024 * 1024,
      reservations: 2
    })
    expect(config.upnp).toBe(false)
    expect(config.reachability).toBe('auto')
    expect(config.announce).toEqual([])
  })

  it('the owner sets limits in config.json; a partial relay block keeps the other defaults', () => {
    const dir = dataDir()
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ relay: { limitBytes: 1_048_576, maxReservations: 4 } }))
    const config = loadConfig({ dataDir: dir }, {})
    expect(config.relay).toMatchObject({
      enabled: true,
      limitBytes: 1_048_576,
      maxReservations: 4,
      limitDurationMs: 300_000
    })
  })

  it('refuses limits out of range and announce entries that are not multiaddrs', () => {
    expect(() => loadConfig({ dataDir: dataDir(), relay: { limitBytes: 10 } } as never, {})).toThrow(/relay.limitBytes/)
    expect(() => loadConfig({ dataDir: dataDir(), relay: { reservations: 99 } } as never, {})).toThrow(
      /relay.reservations/
    )
    expect(() => loadConfig({ dataDir: dataDir(), announce: ['203.0.113.7:4001'] }, {})).toThrow(/announce/)
  })

  it('flags: --announce (repeatable), --upnp, --reachability', () => {
    const { flags } = parseCli([
      'start',
      '--announce',
      '/ip4/203.0.113.7/tcp/4001',
      '--upnp',
      '--reachability',
      'private'
    ])
    expect(flags).toMatchObject({ announce: ['/ip4/203.0.113.7/tcp/4001'], upnp: true, reachability: 'private' })
  })
})
