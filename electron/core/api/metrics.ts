import { INFER_ERROR_KINDS } from '../../../shared/infer-error'
import type { FastifyInstance } from 'fastify'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { NodeEventMap, NodeEvents } from '../events'
import type { GossipCounters } from '../reputation/gossip'
import { registerGossipMetrics } from './gossip-metrics'
import type { Startable } from '../util/startable'

export interface MetricsComponents {
  events: NodeEvents
}

export interface MetricsInit {
  registry?: Registry
  /** Process metrics (CPU, memory, event loop) too; default true. */
  defaultMetrics?: boolean
  /** The models the mesh knows (the router's): only these get a `model` label value of their own. */
  knownModels?: () => ReadonlySet<string>
  /** The reputation gossip's counts (published, accepted, dropped by reason), read at each scrape. */
  gossip?: () => GossipCounters
}

/**
 * Label values come from clients (model names) and remote peers (error codes): only a fixed set of
 * codes and the models the mesh knows get their own label, anything else is 'other', so no client
 * or peer can grow the registry.
 */
const KNOWN_CODES = new Set<string>([
  // every code that may cross /meshwork/infer/1.0.0 or come from a runtime call
  ...Object.keys(INFER_ERROR_KINDS),
  // from the API and the router
  ...'invalid_request model_not_found no_provider_available price_exceeded retry_budget_exceeded'.split(' '),
  'providers_busy',
  ...'context_length_exceeded client_disconnected cancelled internal_error stream_failed unknown'.split(' ')
])

export function codeLabel(code: string | undefined): string {
  const c = code ?? 'unknown'
  return KNOWN_CODES.has(c) ? c : 'other'
}

/** Until the node says which models the mesh knows, this many distinct names get a label of their own. */
const MAX_UNLISTED_MODELS = 32

function modelLabeller(knownModels: (() => ReadonlySet<string>) | undefined): (model: string | undefined) => string {
  const seen = new Set<string>()
  return (model) => {
    if (model === undefined) return 'unknown'
    if (knownModels !== undefined) return knownModels().has(model) ? model : 'other'
    if (seen.has(model)) return model
    if (seen.size >= MAX_UNLISTED_MODELS || !/^[\w.:/-]{1,128}$/.test(model)) return 'other'
    seen.add(model)
    return model
  }
}

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]

/**
 * Prometheus metrics fed by node events: requests, errors by code, attempts, failovers (and the
 * gap the client saw), time to first token, tokens per second, jobs served. Listens from start to stop.
 */
export class RoutingMetrics implements Startable {
  readonly registry: Registry
  private readonly handlers: Record<string, (...args: never[]) => void>

  constructor(
    private readonly components: MetricsComponents,
    init: MetricsInit = {}
  ) {
    this.registry = init.registry ?? new Registry()
    this.handlers = createHandlers(this.registry, init.defaultMetrics !== false, modelLabeller(init.knownModels))
    if (init.gossip !== undefined) registerGossipMetrics(this.registry, init.gossip)
  }

  async start(): Promise<void> {
    for (const [name, fn] of Object.entries(this.handlers))
      this.components.events.on(name as keyof NodeEventMap, fn as never)
  }

  async stop(): Promise<void> {
    for (const [name, fn] of Object.entries(this.handlers))
      this.components.events.off(name as keyof NodeEventMap, fn as never)
  }
}

export function createMetrics(components: MetricsComponents, init: MetricsInit = {}): RoutingMetrics {
  return new RoutingMetrics(components, init)
}

/** The metrics in `registry`, and the event handlers that feed them. */
function createHandlers(
  registry: Registry,
  defaultMetrics: boolean,
  modelLabel: (model: string | undefined) => string
): Record<string, (...args: never[]) => void> {
  if (defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'meshwork_process_' })
  const registers = [registry]
  const requests = new Counter({
    name: 'meshwork_requests_total',
    help: 'Routed API requests by model and outcome',
    labelNames: ['model', 'outcome'],
    registers
  })
  const errors = new Counter({
    name: 'meshwork_request_errors_total',
    help: 'Failed routed requests by error code',
    labelNames: ['code'],
    registers
  })
  const inflight = new Gauge({ name: 'meshwork_requests_inflight', help: 'Routed requests in progress', registers })
  const attempts = new Counter({
    name: 'meshwork_attempts_total',
    help: 'Provider attempts (first tries, retries and continuations)',
    labelNames: ['continuation'],
    registers
  })
  const failovers = new Counter({
    name: 'meshwork_failovers_total',
    help: 'Failovers by reason and phase',
    labelNames: ['reason', 'phase'],
    registers
  })
  const gap = new Histogram({
    name: 'meshwork_failover_gap_seconds',
    help: 'Gap between the last token before a mid-stream failure and the first after it',
    buckets: SECONDS,
    registers
  })
  const ttft = new Histogram({
    name: 'meshwork_ttft_seconds',
    help: 'Time to first token of routed requests',
    buckets: SECONDS,
    registers
  })
  const duration = new Histogram({
    name: 'meshwork_request_duration_seconds',
    help: 'Duration of routed requests',
    buckets: SECONDS,
    registers
  })
  const tps = new Histogram({
    name: 'meshwork_tokens_per_second',
    help: 'Decode speed of routed requests (completion tokens after the first token)',
    buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500],
    registers
  })
  const completionTokens = new Counter({
    name: 'meshwork_completion_tokens_total',
    help: 'Completion tokens delivered to API clients',
    registers
  })
  const served = new Counter({
    name: 'meshwork_jobs_served_total',
    help: 'Jobs this node served for other peers',
    labelNames: ['outcome'],
    registers
  })
  const servedTokens = new Counter({
    name: 'meshwork_served_tokens_total',
    help: 'Tokens this node processed for other peers',
    labelNames: ['kind'],
    registers
  })

  const models = new Map<string, string>()
  const on = {
    'request:started': ({ id, model }: NodeEventMap['request:started'][0]) => {
      models.set(id, model)
      inflight.inc()
    },
    'request:attempt': ({ continuation }: NodeEventMap['request:attempt'][0]) =>
      attempts.inc({ continuation: String(continuation) }),
    'request:failover': (e: NodeEventMap['request:failover'][0]) => {
      failovers.inc({ reason: codeLabel(e.reason), phase: e.emittedTokens > 0 ? 'mid_stream' : 'before_first_token' })
      if (e.gapMs !== undefined && e.emittedTokens > 0) gap.observe(e.gapMs / 1000)
    },
    'request:finished': (e: NodeEventMap['request:finished'][0]) => {
      const model = modelLabel(models.get(e.id))
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
  return on
}

/** `GET /metrics` in Prometheus text format. */
export function registerMetricsRoute(app: FastifyInstance, registry: Registry): void {
  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', registry.contentType)
    return registry.metrics()
  })
}
