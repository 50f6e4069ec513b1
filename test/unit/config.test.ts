import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../electron/core/config'

const DIR = '/nonexistent/meshwork-config-test'
const PEER = '/ip4/203.0.113.7/tcp/4001/p2p/12D3KooWCVEFqLKEmSavLXc6VVPxwUhj3RnB5KrHCLro76XqTz6Q'

describe('loadConfig', () => {
  it('accepts bootstrap multiaddrs that name their peer, from flags and from MESHWORK_BOOTSTRAP', () => {
    expect(loadConfig({ dataDir: DIR, bootstrap: [PEER] }, {}).bootstrap).toEqual([PEER])
    const other = PEER.replace('203.0.113.7', '198.51.100.1')
    expect(loadConfig({ dataDir: DIR }, { MESHWORK_BOOTSTRAP: `${PEER},${other}` }).bootstrap).toEqual([PEER, other])
  })

  it('rejects a bootstrap entry that is no multiaddr, or names no peer, saying what it must look like', () => {
    for (const bad of [
      'foo',
      '203.0.113.7:4001',
      '/ip4/203.0.113.7/tcp/4001',
      '/ip4/203.0.113.7/tcp/4001/p2p/not-a-peer-id'
    ]) {
      expect(() => loadConfig({ dataDir: DIR, bootstrap: [bad] }, {})).toThrow(
        /bootstrap\.0: must be a multiaddr ending in \/p2p\/<peer id>/
      )
    }
  })

  it('flags win over the environment, and numbers from the environment are checked', () => {
    expect(loadConfig({ dataDir: DIR, apiPort: 9000 }, { MESHWORK_API_PORT: '9100' }).apiPort).toBe(9000)
    expect(loadConfig({ dataDir: DIR }, { MESHWORK_API_PORT: '9100' }).apiPort).toBe(9100)
    expect(() => loadConfig({ dataDir: DIR }, { MESHWORK_API_PORT: 'eighty' })).toThrow(
      /Invalid configuration: apiPort/
    )
  })
})
