import { registerControlRoutes } from './api/control-routes'
import { registerEarningsRoutes } from './api/earnings-routes'
import { registerIpcRoutes } from './api/ipc-routes'
import { registerMetricsRoute, type RoutingMetrics } from './api/metrics'
import { registerOpenAiRoutes } from './api/openai-routes'
import { ApiServer } from './api/server'
import { registerStaticRoutes } from './api/static-routes'
import type { Config } from './config'
import type { NodeControl } from './control'
import type { Router } from './router/router'
import type { Logger } from './util/logger'

export interface NodeApiParts {
  config: Pick<Config, 'apiHost' | 'apiPort' | 'apiKey' | 'maxBodyBytes'>
  control: NodeControl
  router: Router
  metrics: Pick<RoutingMetrics, 'registry'>
  logger: Logger
  /** The built dashboard served at `/`. */
  rendererDir: string
}

/** The node's one HTTP server: dashboard API, earnings, OpenAI API, IPC bridge, metrics, dashboard. */
export function createNodeApi(parts: NodeApiParts): ApiServer {
  const { config, control, router, metrics, logger, rendererDir } = parts
  return new ApiServer(
    { logger: logger.child('api') },
    {
      host: config.apiHost,
      port: config.apiPort,
      apiKey: config.apiKey,
      maxBodyBytes: config.maxBodyBytes,
      routes: [
        (app) => registerControlRoutes(app, control),
        (app) => registerEarningsRoutes(app, control),
        (app) => registerOpenAiRoutes(app, { router, logger }),
        (app) => registerIpcRoutes(app, control, { logger }),
        (app) => registerMetricsRoute(app, metrics.registry),
        (app) => registerStaticRoutes(app, rendererDir)
      ]
    }
  )
}
