// A bench node's own /metrics (Prometheus text) and the values the benches read from it.
import type { BenchNode } from './routing-nodes'

export async function metricsOf(node: Pick<BenchNode, 'apiUrl'>): Promise<string> {
  return (await fetch(node.apiUrl + '/metrics')).text()
}

/** The value of an unlabelled sample (NaN when the node does not report it). */
export function sampleValue(metrics: string, name: string): number {
  const match = new RegExp(`^${name} ([\\d.e+-]+)`, 'm').exec(metrics)
  return match ? Number(match[1]) : Number.NaN
}

/**
 * Where a node's memory goes, in MB: V8 heap in use and reserved, the young generation's share of what
 * is reserved (V8 grows it under allocation pressure, up to a fixed maximum), and memory outside the
 * heap (Buffers).
 */
export function memoryMB(metrics: string): { heapUsed: number; heapTotal: number; newSpace: number; external: number } {
  const mb = (name: string): number => sampleValue(metrics, `meshwork_process_nodejs_${name}`) / 2 ** 20
  return {
    heapUsed: mb('heap_size_used_bytes'),
    heapTotal: mb('heap_size_total_bytes'),
    newSpace: mb('heap_space_size_total_bytes\\{space="new"\\}'),
    external: mb('external_memory_bytes')
  }
}
