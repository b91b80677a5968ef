import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Principal } from '../context/index.ts'
import { TesseraError } from '../errors/index.ts'
import type { Logger } from '../observability/index.ts'
import type { Authenticator } from './auth.ts'
import type { SseHub } from './sse.ts'

/** Query parameters that would carry a token in the URL (RFC 6750 names `access_token`). */
const TOKEN_PARAMS = ['token', 'access_token']

/**
 * `GET /events`: the event stream. Optional `?events=a,b` narrows the stream to some of
 * the configured events. The token comes from `Authorization: Bearer …` only. Rejects
 * (JSON error, before the stream starts) with 400 for a token in the URL, 401 for a
 * missing or bad token where one is needed, 429 past the per-principal (or per-IP) cap,
 * 503 past `maxClients`; each refusal is logged (who and why, never the token).
 */
export function registerSse(app: FastifyInstance, hub: SseHub, auth: Authenticator, logger: Logger): void {
  app.get<{ Querystring: Record<string, string | string[] | undefined> }>('/events', async (req, reply) => {
    let principal: Principal | undefined
    try {
      if (TOKEN_PARAMS.some((name) => req.query[name] !== undefined)) {
        throw new TesseraError(
          'BAD_REQUEST',
          'send the token in the Authorization header ("Bearer <token>"), not in the URL, where logs and history keep it',
          { reason: 'token-in-url' },
        )
      }
      const authorization = req.headers.authorization
      principal =
        authorization !== undefined || hub.auth === 'authenticated'
          ? await auth.authenticate(authorization)
          : undefined
      const narrowed = req.query.events
      const events = typeof narrowed === 'string' ? new Set(narrowed.split(',').filter(Boolean)) : undefined
      const headers: Record<string, string> = {}
      for (const [name, value] of Object.entries(reply.getHeaders())) {
        if (value !== undefined) headers[name] = String(value)
      }
      hub.attach(reply.raw, headers, {
        principal,
        events,
        ip: req.ip,
        ...(principal ? { verify: () => auth.authenticate(authorization) } : {}),
      })
    } catch (err) {
      logRefusal(logger, req, principal, err)
      throw err
    }
    reply.hijack()
  })
}

function logRefusal(
  logger: Logger,
  req: FastifyRequest,
  principal: Principal | undefined,
  err: unknown,
): void {
  const code = err instanceof TesseraError ? err.code : 'INTERNAL'
  const reason =
    code === 'BAD_REQUEST'
      ? 'token-in-url'
      : code === 'UNAUTHORIZED'
        ? `token ${String(err instanceof TesseraError ? err.data?.reason : 'invalid')}`
        : code === 'RATE_LIMITED'
          ? principal
            ? 'per-principal cap'
            : 'per-ip cap'
          : code === 'OVERLOADED'
            ? 'maxClients'
            : 'error'
  // The path without its query: the query may hold the token that was refused.
  const entry = { reason, code, ip: req.ip, principal: principal?.id, path: req.routeOptions.url }
  if (code === 'UNAUTHORIZED' || code === 'INTERNAL') logger.info(entry, 'event stream refused')
  else logger.warn(entry, 'event stream refused')
}
