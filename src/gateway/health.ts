import type { FastifyInstance } from 'fastify'

/**
 * `GET /healthz`: the process answers (liveness). `GET /readyz`: 200 once at least one
 * action is routable, else 503 — so a load balancer sends no traffic to a gateway that
 * could only answer 404.
 *
 * @example
 * registerHealth(app, () => table.routes().length)
 */
export function registerHealth(app: FastifyInstance, routableCount: () => number): void {
  app.get('/healthz', (_req, reply) => {
    reply.header('cache-control', 'no-store').send({ status: 'ok' })
  })
  app.get('/readyz', (_req, reply) => {
    const routes = routableCount()
    reply
      .code(routes > 0 ? 200 : 503)
      .header('cache-control', 'no-store')
      .send({ status: routes > 0 ? 'ready' : 'not ready', routes })
  })
}
