import type { PeerView } from '../../../shared/api'
import { Badge, Card, Notice } from '../components/ui'
import { ago, gb, ms, num, shortId } from '../format'
import { useApp, useNow } from '../hooks'
import { PeerTrustDetail, measuredSpeed, trustEvidenceOf, trustSummary } from './PeerTrust'
import { Fragment, useState } from 'react'

function advertisedSpeed(peer: PeerView): number | undefined {
  const first = peer.models[0] ?? Object.keys(peer.advert.benchmark)[0]
  return first === undefined ? undefined : peer.advert.benchmark[first]?.decodeTokensPerSecond
}

function evidence(peer: PeerView): string {
  const why = trustEvidenceOf(peer)?.why
  if (why !== undefined) return why
  return Object.entries(peer.trustEvidence)
    .filter(([, v]) => typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean')
    .map(([k, v]) => `${k}: ${String(v)}`)
    .join(' · ')
}

function PeerStatus({ peer }: { peer: PeerView }) {
  if (!peer.alive)
    return (
      <Badge tone="muted" title={peer.excludedReason}>
        offline
      </Badge>
    )
  if (peer.paused) return <Badge tone="warn">paused</Badge>
  if (peer.excludedReason)
    return (
      <Badge tone="bad" title={peer.excludedReason}>
        excluded
      </Badge>
    )
  return <Badge tone="good">serving</Badge>
}

export function Peers() {
  const peers = useApp((s) => s.peers)
  const loaded = useApp((s) => s.peersLoaded)
  const error = useApp((s) => s.peersError)
  const showOffline = useApp((s) => s.showOffline)
  const setShowOffline = useApp((s) => s.setShowOffline)
  const now = useNow(5000)
  const [open, setOpen] = useState<string | undefined>(undefined)

  return (
    <div className="page">
      <Card
        title={`Peers in your mesh (${peers.length})`}
        aside={
          <label className="check">
            <input type="checkbox" checked={showOffline} onChange={(e) => setShowOffline(e.target.checked)} /> show
            offline peers
          </label>
        }
      >
        {error ? (
          <Notice tone="bad" title="Could not load peers">
            {error.message}
          </Notice>
        ) : null}
        {!loaded && !error ? <Notice tone="info" title="Looking for peers…" /> : null}
        {loaded && peers.length === 0 ? (
          <Notice tone="muted" title="No other peers found yet" testId="no-peers">
            Peers appear here as soon as they are discovered. If this stays empty, check the bootstrap addresses in
            Settings, or that other Meshwork nodes run on your network.
          </Notice>
        ) : null}
        {peers.length > 0 ? (
          <div className="table-wrap">
            <table className="table peers-table" data-testid="peers-table">
              <thead>
                <tr>
                  <th>Peer</th>
                  <th>Status</th>
                  <th>Hardware (advertised)</th>
                  <th className="num">Speed advertised</th>
                  <th className="num">Speed measured</th>
                  <th>Trust</th>
                  <th className="num">RTT</th>
                  <th>Models</th>
                  <th className="num">Load</th>
                  <th>Last seen</th>
                </tr>
              </thead>
              <tbody>
                {peers.map((peer) => {
                  const hw = peer.advert.hardware
                  const gpu = hw?.gpus[0]
                  const m = measuredSpeed(peer)
                  return (
                    <Fragment key={peer.peerId}>
                      <tr data-peer={peer.peerId} className={peer.alive ? undefined : 'dim'}>
                        <td className="mono" title={peer.peerId}>
                          {shortId(peer.peerId)}
                        </td>
                        <td>
                          <PeerStatus peer={peer} />
                        </td>
                        <td>
                          {gpu
                            ? `${gpu.model} · ${gb(gpu.vramMB)}`
                            : hw
                              ? `CPU only · ${hw.cpu.cores} threads`
                              : 'not advertised'}
                        </td>
                        <td className="num">
                          {advertisedSpeed(peer) === undefined ? '—' : `${num(advertisedSpeed(peer), 0)} tok/s`}
                        </td>
                        <td className="num" title={m === undefined ? 'No jobs observed from this peer yet' : undefined}>
                          {m === undefined ? <span className="muted">not yet</span> : `${num(m, 0)} tok/s`}
                        </td>
                        <td
                          title={evidence(peer) || 'no evidence yet'}
                          className="clickable"
                          onClick={() => setOpen(open === peer.peerId ? undefined : peer.peerId)}
                        >
                          <div className="trust">
                            <div className="trust-bar">
                              <div className="trust-fill" style={{ width: `${Math.round(peer.trust * 100)}%` }} />
                            </div>
                            <span>{num(peer.trust * 100, 0)}%</span>
                          </div>
                          <div className="muted small">{trustSummary(peer) ?? 'no jobs yet'}</div>
                        </td>
                        <td className="num">{ms(peer.rttMs)}</td>
                        <td className="nowrap">{peer.models.join(', ') || '—'}</td>
                        <td className="num">
                          {peer.advert.load.inflight}/{peer.advert.load.capacity}
                          {peer.advert.load.queued > 0 ? ` +${peer.advert.load.queued}` : ''}
                        </td>
                        <td>{ago(peer.lastSeen, now)}</td>
                      </tr>
                      {open === peer.peerId ? (
                        <tr className="detail">
                          <td colSpan={10}>
                            <PeerTrustDetail peer={peer} />
                          </td>
                        </tr>
                      ) : null}
                    </Fragment>
                  )
                })}
              </tbody>
            </table>
          </div>
        ) : null}
      </Card>
    </div>
  )
}
