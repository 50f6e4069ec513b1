import type { PeersResponse, StatusResponse } from '../../shared/api'

export function formatStatus(status: StatusResponse): string {
  const gpus = status.hardware.gpus.length === 0 ? 'none (CPU only)' : status.hardware.gpus.map((g) => `${g.vendor} ${g.model} ${g.vramMB} MB`).join(', ')
  const lines = [
    `peer      ${status.peerId}`,
    `api       ${status.apiUrl}/v1   dashboard ${status.apiUrl}/`,
    `state     ${status.paused ? 'PAUSED (not earning)' : status.serving ? 'earning' : 'router only'}`,
    `runtime   ${status.runtime.kind} ${status.runtime.state}${status.runtime.message ? ` — ${status.runtime.message}` : ''}`,
    `gpus      ${gpus}`,
    `cpu       ${status.hardware.cpu.brand} (${status.hardware.cpu.cores} cores), ${status.hardware.memoryMB} MB RAM, ${status.hardware.os}`
  ]
  for (const model of status.models) {
    const bench = status.benchmark[model.name]
    const speed = bench ? `${bench.decodeTokensPerSecond.toFixed(1)} tok/s decode, ${bench.prefillTokensPerSecond.toFixed(0)} tok/s prefill, TTFT ${bench.ttftMs.toFixed(0)} ms` : 'not benchmarked yet'
    lines.push(`model     ${model.name} (${model.sha256.slice(0, 12)}…) ${speed}`)
  }
  lines.push(...status.multiaddrs.map((a, i) => `${i === 0 ? 'p2p' : '   '}       ${a}`))
  return lines.join('\n')
}

export function formatPeers(response: PeersResponse): string {
  if (response.peers.length === 0) return 'no peers known yet'
  const rows = response.peers.map((p) => {
    const bench = Object.values(p.advert.benchmark)[0]
    const speed = bench ? `${bench.decodeTokensPerSecond.toFixed(0)} tok/s` : '-'
    const state = !p.alive ? 'dead' : p.paused ? 'paused' : 'live'
    return `${p.peerId}  ${state.padEnd(6)}  ${p.models.join(',').padEnd(20)}  ${speed.padStart(10)}  ${p.rttMs === undefined ? '-' : `${p.rttMs} ms`}`
  })
  return ['peer id'.padEnd(52) + '  state   models                 speed        rtt', ...rows].join('\n')
}
