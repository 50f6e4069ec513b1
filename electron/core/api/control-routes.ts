import type { FastifyInstance } from 'fastify'
import type { NodeControl } from '../control'

/** The dashboard/control API (`/api/status`, `/api/peers`, pause, resume); field names are part of the contract (README, HTTP API). */
export function registerControlRoutes(app: FastifyInstance, control: NodeControl): void {
  app.get('/api/status', async () => control.status())
  app.get<{ Querystring: { all?: string } }>('/api/peers', async (request) =>
    control.peers({ all: request.query.all === '1' || request.query.all === 'true' })
  )
  app.post('/api/pause', async () => control.pause())
  app.post('/api/resume', async () => control.resume())
}
