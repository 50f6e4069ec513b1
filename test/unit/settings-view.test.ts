import { describe, expect, it } from 'vitest'
import { settingsView } from '../../electron/core/api/settings-view'
import { loadConfig } from '../../electron/core/config'
import { SettingsViewSchema } from '../../shared/ipc'

describe('settingsView', () => {
  it('reports the bound ports and never the API key itself', () => {
    const config = loadConfig(
      {
        dataDir: '/nonexistent/meshwork-settings-test',
        apiPort: 0,
        p2pPort: 0,
        apiKey: 'sk-secret-value-123',
        bootstrap: ['/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWCVEFqLKEmSavLXc6VVPxwUhj3RnB5KrHCLro76XqTz6Q']
      },
      {}
    )
    const view = settingsView(config, {
      apiUrl: 'http://127.0.0.1:41234',
      multiaddrs: ['/ip4/127.0.0.1/tcp/40001/p2p/abc']
    })
    expect(SettingsViewSchema.parse(view)).toEqual(view)
    expect(view).toMatchObject({
      apiPort: 41234,
      p2pPort: 40001,
      apiKeySet: true,
      bootstrap: ['/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWCVEFqLKEmSavLXc6VVPxwUhj3RnB5KrHCLro76XqTz6Q']
    })
    expect(JSON.stringify(view)).not.toContain('sk-secret-value-123')
  })

  it('falls back to the configured ports before the node is up', () => {
    const config = loadConfig({ dataDir: '/nonexistent/meshwork-settings-test', apiPort: 9090, p2pPort: 4001 }, {})
    expect(settingsView(config)).toMatchObject({
      apiUrl: 'http://127.0.0.1:9090',
      apiPort: 9090,
      p2pPort: 4001,
      apiKeySet: false
    })
  })
})
