export function shortId(peerId: string): string {
  return peerId.length > 16 ? `${peerId.slice(0, 8)}…${peerId.slice(-6)}` : peerId
}

export function num(value: number | undefined, digits = 0): string {
  if (value === undefined || !Number.isFinite(value)) return '—'
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
}

export function gb(mb: number | undefined): string {
  if (mb === undefined) return '—'
  return `${num(mb / 1024, mb >= 10 * 1024 ? 0 : 1)} GB`
}

export function params(count: number): string {
  if (count >= 1e9) return `${num(count / 1e9, 1)}B`
  if (count >= 1e6) return `${num(count / 1e6, 0)}M`
  if (count >= 1e3) return `${num(count / 1e3, 0)}K`
  return String(count)
}

export function ms(value: number | undefined): string {
  if (value === undefined) return '—'
  return value >= 1000 ? `${num(value / 1000, 2)} s` : `${num(value, value < 10 ? 1 : 0)} ms`
}

export function duration(seconds: number): string {
  if (seconds < 60) return `${Math.floor(seconds)} s`
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`
  return `${Math.floor(seconds / 86400)} d ${Math.floor((seconds % 86400) / 3600)} h`
}

export function ago(time: number, now = Date.now()): string {
  const s = Math.max(0, (now - time) / 1000)
  if (s < 5) return 'just now'
  return `${duration(s)} ago`
}

export function clock(time: number): string {
  return new Date(time).toLocaleTimeString('en-GB', { hour12: false })
}
