import { type HttpMethod, type RouteRateLimit, rateLimitProblem } from '../contract/index.ts'

/** A route as announced by a peer, after its shape was checked. */
export interface AnnouncedRoute {
  method: HttpMethod
  /** fastify-style, e.g. `/users/:id`. */
  path: string
  auth: 'public' | 'authenticated'
  /** Names of the `:params` in the path, in order. */
  params: string[]
  /** The route's own limit, when it declares one (checked: integers within bounds). */
  rateLimit?: RouteRateLimit
}

const METHODS: ReadonlySet<string> = new Set<HttpMethod>(['GET', 'POST', 'PUT', 'PATCH', 'DELETE'])
const SEGMENT = /^(?::[A-Za-z_][A-Za-z0-9_]*|[A-Za-z0-9\-._~!$&'+,;=@]+)$/
const MAX_PATH = 512

/**
 * Checks a peer's `http` entry: any node may announce anything, so everything is
 * checked before it reaches the router. Only plain segments and whole-segment
 * `:params` are accepted (no wildcards, regex params or duplicates), and a `rateLimit`
 * only with integer `max` and `windowMs` within bounds. Returns the route, or a reason
 * to skip it.
 *
 * @example
 * parseAnnouncedRoute({ method: 'GET', path: '/users/:id' }) // { method: 'GET', path: '/users/:id', auth: 'authenticated', params: ['id'] }
 * parseAnnouncedRoute({ method: 'TRACE', path: '/' })        // 'unsupported method "TRACE"'
 */
export function parseAnnouncedRoute(http: unknown): AnnouncedRoute | string {
  if (typeof http !== 'object' || http === null) return 'http is not an object'
  const { method, path, auth, rateLimit } = http as Record<string, unknown>
  if (typeof method !== 'string' || !METHODS.has(method))
    return `unsupported method ${JSON.stringify(method)}`
  if (typeof path !== 'string' || !path.startsWith('/') || path.length > MAX_PATH) {
    return 'path must be a string starting with "/"'
  }
  if (auth !== undefined && auth !== 'public' && auth !== 'authenticated') {
    return `unknown auth ${JSON.stringify(auth)}`
  }
  const params: string[] = []
  const segments = path === '/' ? [] : path.slice(1).replace(/\/$/, '').split('/')
  for (const segment of segments) {
    if (!SEGMENT.test(segment)) return `invalid path segment ${JSON.stringify(segment)}`
    if (segment.startsWith(':')) {
      const name = segment.slice(1)
      if (params.includes(name)) return `duplicate path parameter ${name}`
      params.push(name)
    }
  }
  const route: AnnouncedRoute = { method: method as HttpMethod, path, auth: auth ?? 'authenticated', params }
  if (rateLimit !== undefined) {
    // A malformed limit skips the route: serving it unlimited would drop what its owner asked for.
    const problem = rateLimitProblem(rateLimit)
    if (problem) return problem
    const { max, windowMs } = rateLimit as RouteRateLimit
    route.rateLimit = { max, windowMs }
  }
  return route
}
