import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { createMetrics } from '../../electron/core/api/metrics'
import { createEvents, type NodeEvents } from '../../electron/core/events'

function labelValues(text: string, metric: string, label: string): Set<string> {
  const values = new Set<string>()
  const pattern = new RegExp(`^${metric}\\{[^}]*${label}="([^"]*)"`, 'gm')
  for (const match of text.matchAll(pattern)) values.add(match[1])
  return values
}

function hostileRequests(events: NodeEvents, count: number): void {
  for (let i = 0; i < count; i++) {
    const id = `req-${i}`
    const junk = randomBytes(6).toString('hex')
    events.emit('request:started', { id, model: `model-${junk}`, stream: false })
    events.emit('request:failover', { id, from: 'peer', reason: `code_${junk}`, emittedTokens: 0 })
    events.emit('request:finished', { id, providers: [], failovers: 0, ok: false, error: `err_${junk}`, latencyMs: 1 })
  }
}

describe('metric labels', () => {
  it('gives 200 requests with random model names and error codes no new label values', async () => {
    const events = createEvents()
    const metrics = createMetrics({ events }, { defaultMetrics: false, knownModels: () => new Set(['meshwork-tiny']) })
    await metrics.start()
    events.emit('request:started', { id: 'honest', model: 'meshwork-tiny', stream: false })
    events.emit('request:finished', {
      id: 'honest',
      providers: ['p'],
      failovers: 0,
      ok: false,
      error: 'provider_busy',
      latencyMs: 5
    })
    hostileRequests(events, 200)
    const text = await metrics.registry.metrics()
    expect(labelValues(text, 'meshwork_requests_total', 'model')).toEqual(new Set(['meshwork-tiny', 'other']))
    expect(labelValues(text, 'meshwork_request_errors_total', 'code')).toEqual(new Set(['provider_busy', 'other']))
    expect(labelValues(text, 'meshwork_failovers_total', 'reason')).toEqual(new Set(['other']))
    await metrics.stop()
  })

  it('caps model labels when the node names no known models', async () => {
    const events = createEvents()
    const metrics = createMetrics({ events }, { defaultMetrics: false })
    await metrics.start()
    hostileRequests(events, 200)
    const text = await metrics.registry.metrics()
    expect(labelValues(text, 'meshwork_requests_total', 'model').size).toBeLessThanOrEqual(33)
    expect(labelValues(text, 'meshwork_request_errors_total', 'code')).toEqual(new Set(['other']))
    await metrics.stop()
  })
})
