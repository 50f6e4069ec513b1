import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { EarningsQuerySchema } from '../../../shared/earnings'
import type { NodeControl } from '../control'
import { InvalidRequestError, MeshworkError } from '../util/errors'

const QuerySchema = z.object({
  days: z.coerce.number().int().optional(),
  recent: z.coerce.number().int().optional()
})

function earningsOf(control: NodeControl): Required<Pick<NodeControl, 'earnings' | 'verifyEarnings'>> {
  if (control.earnings === undefined || control.verifyEarnings === undefined)
    throw new MeshworkError('This node keeps no earnings', 'not_supported', 501)
  return { earnings: control.earnings, verifyEarnings: control.verifyEarnings }
}

/** `GET /api/earnings` (DESIGN §4.2; `?days=N&recent=N`) and `GET /api/earnings/verify`. */
export function registerEarningsRoutes(app: FastifyInstance, control: NodeControl): void {
  app.get('/api/earnings', async (request) => {
    const parsed = QuerySchema.pipe(EarningsQuerySchema).safeParse(request.query ?? {})
    if (!parsed.success)
      throw new InvalidRequestError(
        `query: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`
      )
    return earningsOf(control).earnings(parsed.data)
  })
  app.get('/api/earnings/verify', async () => earningsOf(control).verifyEarnings())
}
