import type { FastifyInstance } from 'fastify'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { NodeEventMap, NodeEvents } from '../events'

export interface RoutingMetrics {
  readonly registry: Registry
  /** Detach from the event bus. */
  stop(): void
}

/** Error codes come partly from remote peers: cap the label values so no peer can grow the registry. */
const MAX_CODES = 64
const seenCodes = new Set<string>()
function codeLabel(code: string | undefined): string {
  const c = code ?? 'unknown'
  if (seenCodes.has(c)) return c
  if (!/^[a-z0-9_]{1,48}$/.test(c) || seenCodes.size >= MAX_CODES) return 'other'
  seenCodes.add(c)
  return c
}

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]

/**
 * Prometheus metrics fed by node events: requests, errors by code, attempts, failovers (and the
 * gap the client saw), time to first token, tokens per second, jobs served.
 */
export function createMetrics(events: NodeEvents, options: { registry?: Registry; defaultMetrics?: boolean } = {}): RoutingMetrics {
  const registry = options.registry ?? new Registry()
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'meshwork_process_' })
  const registers = [registry]
  const requests = new Counter({ name: 'meshwork_requests_total', help: 'Routed API requests by model and outcome', labelNames: ['model', 'outcome'], registers })
  const errors = new Counter({ name: 'meshwork_request_errors_total', help: 'Failed routed requests by error code', labelNames: ['code'], registers })
  const inflight = new Gauge({ name: 'meshwork_requests_inflight', help: 'Routed requests in progress', registers })
  const attempts = new Counter({ name: 'meshwork_attempts_total', help: 'Provider attempts (first tries, retries and continuations)', labelNames: ['continuation'], registers })
  const failovers = new Counter({ name: 'meshwork_failovers_total', help: 'Failovers by reason and phase', labelNames: ['reason', 'phase'], registers })
  const gap = new Histogram({ name: 'meshwork_failover_gap_seconds', help: 'Gap between the last token before a mid-stream failure and the first after it', buckets: SECONDS, registers })
  const ttft = new Histogram({ name: 'meshwork_ttft_seconds', help: 'Time to first token of routed requests', buckets: SECONDS, registers })
  const duration = new Histogram({ name: 'meshwork_request_duration_seconds', help: 'Duration of routed requests', buckets: SECONDS, registers })
  const tps = new Histogram({
    name: 'meshwork_tokens_per_second',
    help: 'Decode speed of routed requests (completion tokens after the first token)',
    buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500],
    registers
  })
  const completionTokens = new Counter({ name: 'meshwork_completion_tokens_total', help: 'Completion tokens delivered to API clients', registers })
  const served = new Counter({ name: 'meshwork_jobs_served_total', help: 'Jobs this node served for other peers', labelNames: ['outcome'], registers })
  const servedTokens = new Counter({ name: 'meshwork_served_tokens_total', help: 'Tokens this node processed for other peers', labelNames: ['kind'], registers })

  const models = new Map<string, string>()
  const on = {
    'request:started': ({ id, model }: NodeEventMap['request:started'][0]) => {
      models.set(id, model)
      inflight.inc()
    },
    'request:attempt': ({ continuation }: NodeEventMap['request:attempt'][0]) => attempts.inc({ continuation: String(continuation) }),
    'request:failover': (e: NodeEventMap['request:failover'][0]) => {
      failovers.inc({ reason: codeLabel(e.reason), phase: e.emittedTokens > 0 ? 'mid_stream' : 'before_first_token' })
      if (e.gapMs !== undefined && e.emittedTokens > 0) gap.observe(e.gapMs / 1000)
    },
    'request:finished': (e: NodeEventMap['request:finished'][0]) => {
      const model = models.get(e.id) ?? 'unknown'
      models.delete(e.id)
      inflight.dec()
      requests.inc({ model, outcome: e.ok ? 'ok' : 'error' })
      if (!e.ok) errors.inc({ code: codeLabel(e.error) })
      duration.observe(e.latencyMs / 1000)
      if (e.ttftMs !== undefined) ttft.observe(e.ttftMs / 1000)
      if (e.completionTokens) {
        completionTokens.inc(e.completionTokens)
        const decodeMs = e.latencyMs - (e.ttftMs ?? 0)
        if (e.completionTokens > 1 && decodeMs > 0) tps.observe(((e.completionTokens - 1) * 1000) / decodeMs)
      }
    },
    'job:served': (e: NodeEventMap['job:served'][0]) => {
      served.inc({ outcome: e.ok ? 'ok' : 'error' })
      servedTokens.inc({ kind: 'prompt' }, e.promptTokens)
      servedTokens.inc({ kind: 'completion' }, e.completionTokens)
    }
  }
  for (const [name, fn] of Object.entries(on)) events.on(name as keyof NodeEventMap, fn as never)
  return {
    registry,
    stop: () => {
      for (const [name, fn] of Object.entries(on)) events.off(name as keyof NodeEventMap, fn as never)
    }
  }
}

/** `GET /metrics` in Prometheus text format. */
export function registerMetricsRoute(app: FastifyInstance, registry: Registry): void {
  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', registry.contentType)
    return registry.metrics()
  })
}
