import type { PeersResponse, StatusResponse } from '../../shared/api'
import { describeReachability } from '../../shared/reachability-text'
import { formatHardware } from '../core/hardware/format'

export function formatStatus(status: StatusResponse): string {
  const runtime = status.runtime
  const reach = describeReachability(status.reachability)
  const lines = [
    `Peer:      ${status.peerId}`,
    `API:       ${status.apiUrl}/v1   (dashboard ${status.apiUrl}/)`,
    `State:     ${status.paused ? 'PAUSED — not earning, new jobs refused' : status.serving ? 'earning' : 'router only (--no-serve)'}`,
    `Runtime:   ${runtime.kind} ${runtime.state}${runtime.containerId ? ` container ${runtime.containerId.slice(0, 12)}` : ''}${runtime.message ? ` — ${runtime.message}` : ''}`,
    ...status.models.map(
      (m) => `Model:     ${m.name} (${(m.params / 1e6).toFixed(2)}M params, sha256 ${m.sha256.slice(0, 12)}…)`
    ),
    `Mesh:      ${status.connections === 0 ? 'alone: no peer reachable yet (check --bootstrap, or mDNS on the LAN)' : `${status.connections} connections`}`,
    `Reach:     ${reach.summary}`,
    ...(reach.advice ? [`           ${reach.advice}`] : []),
    `Jobs:      ${status.stats.served} served, ${status.stats.routed} routed, ${status.stats.failovers} failovers`,
    formatHardware(status.hardware, status.benchmark),
    ...status.multiaddrs.map((a, i) => `${i === 0 ? 'P2P:' : '    '}       ${a}`)
  ]
  return lines.join('\n')
}

export function formatPeers(response: PeersResponse): string {
  if (response.peers.length === 0) return 'no peers known yet'
  const rows = response.peers.flatMap((p) => {
    const bench = Object.values(p.advert.benchmark)[0]
    const gpu = p.advert.hardware?.gpus[0]?.model ?? 'CPU'
    const speed = bench ? `${bench.decodeTokensPerSecond.toFixed(0)} tok/s` : '-'
    const measured = measuredSpeed(p.trustEvidence)
    const state = !p.alive ? 'dead' : p.paused ? 'paused' : p.excludedReason ? 'skipped' : 'live'
    const trust = `${Math.round(p.trust * 100)}%`
    const line = `${p.peerId}  ${state.padEnd(7)}  ${trust.padStart(5)}  ${p.models.join(',').padEnd(20)}  ${gpu.slice(0, 16).padEnd(16)}  ${speed.padStart(10)}  ${(measured === undefined ? '-' : `${measured.toFixed(0)} tok/s`).padStart(10)}  ${p.rttMs === undefined ? '-' : `${p.rttMs} ms`}  ${p.connection}`
    return p.excludedReason ? [line, `    skipped: ${p.excludedReason}`] : [line]
  })
  const header =
    'peer id'.padEnd(52) + '  state    trust  models                gpu               advertised    measured  rtt  link'
  return [header, ...rows].join('\n')
}

/** Decode speed this node measured itself, from the trust evidence (absent until it has some). */
function measuredSpeed(evidence: Record<string, unknown>): number | undefined {
  const direct = evidence.direct as { tokensPerSecond?: unknown } | undefined
  return typeof direct?.tokensPerSecond === 'number' ? direct.tokensPerSecond : undefined
}
