import FindMyWay from 'find-my-way'
import type { HttpMethod, RouteRateLimit } from '../contract/index.ts'
import type { Logger } from '../observability/index.ts'
import type { ReadonlyRegistry } from '../registry/index.ts'
import type { ActionInfo } from '../wire/index.ts'
import { parseAnnouncedRoute } from './announced-route.ts'
import { compileInputAssembler, type InputAssembler } from './input.ts'
import { createSchemaCompiler, type InputCheck } from './schema-validator.ts'

/** What the gateway exposes for one action (the public view, see `gateway.routes()`). */
export interface RouteInfo {
  method: HttpMethod
  path: string
  service: string
  action: string
  auth: 'public' | 'authenticated'
  idempotent: boolean
  description?: string
}

/** A routable action with everything a request needs, compiled once per announcement. */
export interface GatewayRoute extends RouteInfo {
  /** Names of the path parameters. */
  params: string[]
  /** The announced JSON Schemas, for the OpenAPI document. */
  inputSchema: unknown
  outputSchema: unknown
  assemble: InputAssembler
  /** Undefined when the peer announced no input schema: the callee still validates. */
  check: InputCheck | undefined
  /** The route's own limit (`http.rateLimit`), counted per IP (public) or principal. */
  rateLimit: RouteRateLimit | undefined
}

export interface RouteMatch {
  route: GatewayRoute
  params: Record<string, string>
}

const NAME = /^[a-z][a-z0-9-]*$/
const ACTION_NAME = /^[a-zA-Z][a-zA-Z0-9_]*$/
const METHODS: HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']

/**
 * The gateway's routing table, derived from what peers announce: every action with an
 * `http` route, nothing else. It is rebuilt (lazily, on the first lookup after any
 * registry change, and eagerly on the next turn of the event loop) without touching the HTTP server; compiled validators are reused for
 * unchanged announcements. Bad entries (garbage shapes, schemas that do not compile,
 * conflicting or reserved paths) are skipped with one warning each.
 *
 * A route whose last instance left stays routable for a grace period (60 s by
 * default): a service that crashed or is being restarted answers 503 (the call waits
 * briefly for an instance, then fails UNAVAILABLE), not 404 as if it never existed.
 * Such routes are not listed in `routes()` (OpenAPI, readiness); after the grace they
 * answer 404.
 *
 * @example
 * const table = new RouteTable(broker.registry, { logger, reserved: new Set(['/healthz']) })
 * table.lookup('GET', '/users/7') // { route, params: { id: '7' } } or undefined
 * table.close()
 */
export class RouteTable {
  readonly #registry: ReadonlyRegistry
  readonly #logger: Logger
  readonly #reserved: ReadonlySet<string>
  readonly #schemas = createSchemaCompiler()
  readonly #unsubscribe: () => void
  #compiled = new Map<string, { key: string; route: GatewayRoute | undefined }>()
  #warned = new Set<string>()
  #router = FindMyWay<FindMyWay.HTTPVersion.V1>({ ignoreTrailingSlash: true, maxParamLength: 256 })
  #routes: GatewayRoute[] = []
  #dirty = true
  #version = 0
  #scheduled: NodeJS.Immediate | undefined
  /** Routes of actions no longer announced, kept for `#graceMs` (see the class comment). */
  #gone = new Map<string, { route: GatewayRoute; since: number }>()
  readonly #graceMs: number
  #expiry: NodeJS.Timeout | undefined

  constructor(
    registry: ReadonlyRegistry,
    options: { logger: Logger; reserved: ReadonlySet<string>; graceMs?: number },
  ) {
    this.#registry = registry
    this.#logger = options.logger
    this.#reserved = options.reserved
    this.#graceMs = options.graceMs ?? 60_000
    this.#unsubscribe = registry.subscribe(() => {
      this.#dirty = true
      // Rebuild off the request path; a lookup before then rebuilds itself.
      this.#scheduled ??= setImmediate(() => {
        this.#scheduled = undefined
        this.#refresh()
      })
    })
  }

  /** Increases with every rebuild: caches derived from the table (the OpenAPI document) key on it. */
  get version(): number {
    this.#refresh()
    return this.#version
  }

  routes(): readonly GatewayRoute[] {
    this.#refresh()
    return this.#routes
  }

  lookup(method: string, path: string): RouteMatch | undefined {
    this.#refresh()
    const found = this.#router.find(method as FindMyWay.HTTPMethod, path)
    if (!found) return undefined
    return { route: found.store as GatewayRoute, params: found.params as Record<string, string> }
  }

  /** Methods routed for `path`, for a 405's `Allow` header; empty when the path is unknown. */
  allowed(path: string): HttpMethod[] {
    this.#refresh()
    return METHODS.filter((m) => this.#router.find(m, path) !== null)
  }

  close(): void {
    this.#unsubscribe()
    if (this.#scheduled) clearImmediate(this.#scheduled)
    this.#scheduled = undefined
    if (this.#expiry) clearTimeout(this.#expiry)
    this.#expiry = undefined
  }

  #refresh(): void {
    if (!this.#dirty) return
    this.#dirty = false
    const router = FindMyWay<FindMyWay.HTTPVersion.V1>({ ignoreTrailingSlash: true, maxParamLength: 256 })
    const routes: GatewayRoute[] = []
    const compiled = new Map<string, { key: string; route: GatewayRoute | undefined }>()
    for (const [service, action] of this.#announcedActions()) {
      const info = this.#registry.action(service, action)?.action
      if (!info || info.http === undefined) continue
      const id = `${service}.${action}`
      const key = announcementKey(info)
      const previous = this.#compiled.get(id)
      const route = previous?.key === key ? previous.route : this.#compile(service, action, info, key)
      compiled.set(id, { key, route })
      if (!route) continue
      if (this.#reserved.has(route.path)) {
        this.#warn(id, key, `path ${route.path} is reserved by the gateway`)
        continue
      }
      try {
        router.on(route.method, route.path, noop, route)
      } catch (err) {
        this.#warn(id, key, `route ${route.method} ${route.path} conflicts: ${(err as Error).message}`)
        continue
      }
      routes.push(route)
    }
    this.#keepGone(router, compiled)
    this.#router = router
    this.#routes = routes
    this.#compiled = compiled
    this.#version++
  }

  /** Routes that were live and are no longer announced stay in the router for the grace. */
  #keepGone(
    router: FindMyWay.Instance<FindMyWay.HTTPVersion.V1>,
    compiled: Map<string, { route: GatewayRoute | undefined }>,
  ): void {
    const now = Date.now()
    for (const [id, was] of this.#compiled) {
      if (was.route && !compiled.has(id) && !this.#gone.has(id))
        this.#gone.set(id, { route: was.route, since: now })
    }
    let next = Number.POSITIVE_INFINITY
    for (const [id, gone] of this.#gone) {
      const until = gone.since + this.#graceMs
      if (compiled.has(id) || until <= now) {
        this.#gone.delete(id)
        continue
      }
      next = Math.min(next, until)
      try {
        router.on(gone.route.method, gone.route.path, noop, gone.route)
      } catch {
        // A live route took the path meanwhile: it wins.
      }
    }
    if (this.#expiry) clearTimeout(this.#expiry)
    this.#expiry = undefined
    if (next !== Number.POSITIVE_INFINITY) {
      this.#expiry = setTimeout(
        () => {
          this.#expiry = undefined
          this.#dirty = true
        },
        next - now + 1,
      )
      this.#expiry.unref()
    }
  }

  /** Every (service, action) pair announced by any node, sorted so conflicts resolve the same way each time. */
  #announcedActions(): [string, string][] {
    const pairs = new Set<string>()
    for (const node of this.#registry.nodes()) {
      if (!Array.isArray(node.services)) continue
      for (const s of node.services as unknown[]) {
        if (typeof s !== 'object' || s === null) continue
        const { name, actions } = s as { name?: unknown; actions?: unknown }
        if (typeof name !== 'string' || !NAME.test(name)) continue
        if (typeof actions !== 'object' || actions === null) continue
        for (const action of Object.keys(actions)) {
          if (ACTION_NAME.test(action)) pairs.add(`${name}.${action}`)
        }
      }
    }
    return [...pairs].sort().map((p) => {
      const dot = p.indexOf('.')
      return [p.slice(0, dot), p.slice(dot + 1)]
    })
  }

  #compile(service: string, action: string, info: ActionInfo, key: string): GatewayRoute | undefined {
    const id = `${service}.${action}`
    const http = parseAnnouncedRoute(info.http)
    if (typeof http === 'string') {
      this.#warn(id, key, http)
      return undefined
    }
    let check: InputCheck | undefined
    try {
      check = info.input === undefined ? undefined : this.#schemas.compile(info.input)
    } catch (err) {
      this.#warn(id, key, `input schema does not compile: ${(err as Error).message}`)
      return undefined
    }
    const route: GatewayRoute = {
      method: http.method,
      path: http.path,
      service,
      action,
      auth: http.auth,
      idempotent: info.idempotent === true,
      params: http.params,
      inputSchema: info.input,
      outputSchema: info.output,
      assemble: compileInputAssembler(info.input),
      check,
      rateLimit: http.rateLimit,
    }
    if (typeof info.description === 'string') route.description = info.description
    return route
  }

  #warn(id: string, key: string, reason: string): void {
    const once = `${id}\u0000${key}\u0000${reason}`
    if (this.#warned.has(once)) return
    // A peer announcing ever-new garbage must not grow this without bound.
    if (this.#warned.size >= 1000) this.#warned.clear()
    this.#warned.add(once)
    this.#logger.warn({ action: id, reason }, 'skipping announced route')
  }
}

function announcementKey(info: ActionInfo): string {
  return JSON.stringify([info.http, info.input, info.output, info.idempotent, info.description])
}

function noop(): void {}
