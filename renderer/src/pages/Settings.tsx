import { PriceSettings } from '../components/PriceSettings'
import { Badge, Card, Field, Notice } from '../components/ui'
import { num } from '../format'
import { useApp } from '../hooks'

export function Settings() {
  const settings = useApp((s) => s.settings)
  const error = useApp((s) => s.settingsError)
  const status = useApp((s) => s.status)
  return (
    <div className="page">
      <Notice tone="info" title="Prices can be set below; other settings are read-only here for now">
        Change them in <code>config.json</code> in the data directory or with <code>meshwork start</code> flags, then
        restart the node.
      </Notice>
      <Notice tone="warn" title="Your prompts are readable by the peer that serves them" testId="privacy-notice">
        A request you send through this node goes, with its prompt and answer in clear, to the provider the router picks
        — another person's machine unless it is this one. To keep prompts to peers you choose, set{' '}
        <code>trustedPeers</code> (their peer ids) or <code>localOnly: true</code> in <code>config.json</code>, or send{' '}
        <code>{'meshwork: { peers: [...] }'}</code> or <code>{'meshwork: { localOnly: true }'}</code> with a request.
      </Notice>
      {error && !settings ? (
        <Notice tone="warn" title="The node did not report its settings">
          {error.message}
        </Notice>
      ) : null}
      {settings ? (
        <div className="grid">
          <Card title="Network" testId="settings-network">
            <dl className="fields">
              <Field label="Dashboard and API" mono>
                {settings.apiUrl}
              </Field>
              <Field label="API bind address" mono>
                {settings.apiHost}:{settings.apiPort}
              </Field>
              <Field label="Peer-to-peer port" mono>
                {settings.p2pHost}:{settings.p2pPort}
              </Field>
              <Field label="Local discovery (mDNS)">{settings.mdns ? 'on' : 'off'}</Field>
              <Field label="API key">
                {settings.apiKeySet ? (
                  <Badge tone="good">set</Badge>
                ) : (
                  <Badge tone="muted">not set (loopback only)</Badge>
                )}
              </Field>
              <Field label="Bootstrap peers" mono>
                {settings.bootstrap.length === 0 ? (
                  <span className="muted">none</span>
                ) : (
                  settings.bootstrap.map((b) => (
                    <div key={b} className="wrap">
                      {b}
                    </div>
                  ))
                )}
              </Field>
            </dl>
          </Card>
          <Card title="Serving">
            <dl className="fields">
              <Field label="Runtime">{settings.runtime}</Field>
              {settings.endpoint ? (
                <Field label="External endpoint" mono>
                  {settings.endpoint}
                </Field>
              ) : null}
              <Field label="Models">{settings.models.join(', ')}</Field>
              <Field label="Price">
                {num(settings.pricePerMillionTokens, 2)} {settings.priceUnit ?? 'credits'} per million tokens
                {Object.keys(settings.prices ?? {}).length > 0 ? ', per model below' : ''}
              </Field>
              <Field label="Parallel jobs">{settings.maxConcurrentJobs}</Field>
              <Field label="On pause">
                {settings.pauseStopsRuntime ? 'stop the runtime to free the GPU' : 'keep the runtime loaded'}
              </Field>
              <Field label="Data directory" mono>
                {settings.dataDir}
              </Field>
            </dl>
          </Card>
          <PriceSettings settings={settings} />
        </div>
      ) : status ? (
        <Card title="Network">
          <dl className="fields">
            <Field label="Dashboard and API" mono>
              {status.apiUrl}
            </Field>
            <Field label="Listening on" mono>
              {status.multiaddrs.map((a) => (
                <div key={a} className="wrap">
                  {a}
                </div>
              ))}
            </Field>
            <Field label="Runtime">{status.runtime.kind}</Field>
          </dl>
        </Card>
      ) : null}
    </div>
  )
}
