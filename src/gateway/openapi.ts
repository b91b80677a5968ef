import type { FastifyInstance } from 'fastify'
import type { GatewayRoute, RouteTable } from './route-table.ts'

export interface OpenApiInfo {
  title: string
  version: string
  description?: string
}

type Json = Record<string, unknown>

const BODY_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH'])

const ERROR_SCHEMA = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        data: { type: 'object' },
      },
    },
  },
}

/**
 * An OpenAPI 3.1 document for the routable actions, from what their services announced:
 * path parameters in `{id}` form, query parameters (GET/DELETE) or a JSON request body
 * (POST/PUT/PATCH) from the input schema minus the path parameters, the output schema
 * as the 200 response, the bearer scheme on authenticated routes, and a route's own rate
 * limit as `x-ratelimit` (`{ max, windowMs, per: 'ip' | 'principal' }`) and in its 429.
 *
 * @example
 * const doc = buildOpenApi(table.routes(), { title: 'Shop API', version: '1.0.0' })
 * doc.paths['/users/{id}'].get.operationId // 'users.get'
 */
export function buildOpenApi(routes: readonly GatewayRoute[], info: OpenApiInfo): Json {
  const paths: Record<string, Record<string, Json>> = {}
  for (const route of routes) {
    const path = route.path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}')
    paths[path] ??= {}
    paths[path][route.method.toLowerCase()] = operation(route)
  }
  return {
    openapi: '3.1.0',
    info,
    paths,
    components: {
      schemas: { Error: ERROR_SCHEMA },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    },
  }
}

function operation(route: GatewayRoute): Json {
  const input = asObject(route.inputSchema)
  const properties = asObject(input?.properties) ?? {}
  const required = new Set(Array.isArray(input?.required) ? input.required.filter(isString) : [])
  const parameters: Json[] = route.params.map((name) => ({
    name,
    in: 'path',
    required: true,
    schema: properties[name] ?? { type: 'string' },
  }))
  const op: Json = {
    operationId: `${route.service}.${route.action}`,
    tags: [route.service],
    security: route.auth === 'authenticated' ? [{ bearer: [] }] : [],
    parameters,
    responses: responses(route),
  }
  if (route.description) op.summary = route.description
  if (route.rateLimit) {
    op['x-ratelimit'] = {
      max: route.rateLimit.max,
      windowMs: route.rateLimit.windowMs,
      per: limitedPer(route),
    }
  }
  const rest = Object.keys(properties).filter((name) => !route.params.includes(name))
  if (BODY_METHODS.has(route.method)) {
    if (route.inputSchema !== undefined) {
      op.requestBody = {
        required: rest.some((name) => required.has(name)),
        content: { 'application/json': { schema: withoutProperties(route.inputSchema, route.params) } },
      }
    }
  } else {
    for (const name of rest) {
      parameters.push({ name, in: 'query', required: required.has(name), schema: properties[name] })
    }
  }
  return op
}

function responses(route: GatewayRoute): Json {
  const error = (description: string) => ({
    description,
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  })
  const out: Json = {
    '200': {
      description: 'OK',
      content: { 'application/json': { schema: route.outputSchema ?? {} } },
    },
    '400': error('Invalid input (VALIDATION) or malformed request (BAD_REQUEST)'),
  }
  if (route.auth === 'authenticated') out['401'] = error('Missing, invalid or expired bearer token')
  const limit = route.rateLimit
  out['429'] = error(
    limit
      ? `Rate limited (RATE_LIMITED, Retry-After): this route allows ${limit.max} requests per ${limit.windowMs / 1000} s per ${limitedPer(route) === 'ip' ? 'client IP' : 'user'}`
      : 'Rate limited (RATE_LIMITED, Retry-After)',
  )
  out['503'] = error('No instance available or overloaded')
  out['504'] = error('Deadline exceeded')
  out.default = error('Error')
  return out
}

/** What a route's own limit counts by: the client IP on public routes, the principal on authenticated ones. */
function limitedPer(route: GatewayRoute): 'ip' | 'principal' {
  return route.auth === 'public' ? 'ip' : 'principal'
}

/** The body schema: the input schema without the properties that come from the path. */
function withoutProperties(schema: unknown, names: string[]): unknown {
  const s = asObject(schema)
  if (!s || names.length === 0) return schema
  const properties = { ...(asObject(s.properties) ?? {}) }
  for (const name of names) delete properties[name]
  const out: Json = { ...s, properties }
  if (Array.isArray(s.required)) out.required = s.required.filter((r) => !names.includes(r as string))
  return out
}

function asObject(v: unknown): Json | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined
}

function isString(v: unknown): v is string {
  return typeof v === 'string'
}

/**
 * `GET /openapi.json`, rebuilt only when the routing table changed.
 *
 * @example
 * registerOpenApi(app, table, { title: 'Shop API', version: '1.0.0' })
 */
export function registerOpenApi(app: FastifyInstance, table: RouteTable, info: OpenApiInfo): void {
  let cached = { version: -1, body: '' }
  app.get('/openapi.json', (_req, reply) => {
    const version = table.version
    if (cached.version !== version) {
      cached = { version, body: JSON.stringify(buildOpenApi(table.routes(), info)) }
    }
    reply.type('application/json; charset=utf-8').send(cached.body)
  })
}
