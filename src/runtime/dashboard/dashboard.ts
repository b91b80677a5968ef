import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Supervisor } from '../supervisor/index.ts'
import { buildCatalog } from './catalog.ts'
import { cookie, escapeHtml, readSmallBody, redirect, sameOrigin, send, sendJson } from './http.ts'
import { LoginLimiter, type LoginLimiterOptions } from './login-limiter.ts'
import { type Session, type SessionOptions, Sessions, sameSecret } from './sessions.ts'
import { loadStaticFiles } from './static-files.ts'

export interface DashboardOptions {
  supervisor: Supervisor
  /** The control token: the login form takes it, the CLI sends it as a bearer token. */
  token: string
  sessions?: SessionOptions
  logins?: LoginLimiterOptions
}

export interface Dashboard {
  /**
   * Answers the dashboard's own routes (pages, files, login, logout, `/dashboard/session`,
   * `/catalog`); false for any other path, which the control server then handles.
   */
  serve(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean>
  /**
   * Whether a control API request may proceed: the bearer token (the CLI), or a dashboard
   * session cookie from this origin — with the session's CSRF token in `x-csrf-token`
   * on anything but GET and HEAD.
   */
  authorize(req: IncomingMessage): boolean
}

/** The CSRF header the page sends on every POST. */
export const CSRF_HEADER = 'x-csrf-token'

type Handler = (req: IncomingMessage, res: ServerResponse, path: string) => Promise<void> | void

/**
 * The web dashboard on the control server's port. Pages need a session, got by posting
 * the control token to `/login` (never in a URL); the session lives in an `HttpOnly;
 * SameSite=Strict` cookie named after the port (two systems on one machine keep theirs).
 * Wrong tokens are rate-limited (see LoginLimiter).
 *
 * @example
 * const dashboard = createDashboard({ supervisor, token })
 * if (await dashboard.serve(req, res, path)) return
 * if (!dashboard.authorize(req)) return unauthorized(res)
 */
export function createDashboard(options: DashboardOptions): Dashboard {
  const sessions = new Sessions(options.sessions)
  const limiter = new LoginLimiter(options.logins)
  const files = loadStaticFiles()
  const bearer = `Bearer ${options.token}`
  const cookieName = (req: IncomingMessage) => `tessera-dashboard-${req.socket.localPort}`

  const sessionOf = (req: IncomingMessage): Session | undefined =>
    sameOrigin(req) ? sessions.get(cookie(req, cookieName(req))) : undefined

  const sendFile = (res: ServerResponse, name: string) => {
    const f = files.get(name)
    if (!f) return send(res, 404, 'text/plain; charset=utf-8', 'not found')
    send(res, 200, f.type, f.body, name.endsWith('.html') ? {} : { 'cache-control': 'no-cache' })
  }

  const loginPage = (res: ServerResponse, status: number, message = '', headers = {}) => {
    const html = String(files.get('login.html')?.body ?? '')
      .replace('{{message}}', message ? `<p role="alert" class="login-error">${escapeHtml(message)}</p>` : '')
      .replace('{{stateDir}}', escapeHtml(options.supervisor.stateDir))
    send(res, status, 'text/html; charset=utf-8', html, headers)
  }

  const login: Handler = async (req, res) => {
    if (!sameOrigin(req)) return loginPage(res, 403, 'This form only works from the dashboard’s own page.')
    const wait = limiter.retryAfterMs()
    if (wait > 0) {
      const seconds = Math.ceil(wait / 1000)
      return loginPage(res, 429, `Too many wrong tokens: try again in ${seconds} s.`, {
        'retry-after': String(seconds),
      })
    }
    const body = await readSmallBody(req)
    const given = body === undefined ? undefined : (new URLSearchParams(body).get('token') ?? undefined)
    if (!sameSecret(given?.trim(), options.token)) {
      limiter.failed()
      return loginPage(res, 401, 'That is not the control token.')
    }
    sessions.delete(cookie(req, cookieName(req))) // a new id at every login (no fixation)
    const session = sessions.create()
    redirect(res, '/', {
      'set-cookie': `${cookieName(req)}=${session.id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${sessions.maxAgeSeconds(session)}`,
    })
  }

  const logout: Handler = (req, res) => {
    const session = sessionOf(req)
    if (!session || !sameSecret(header(req, CSRF_HEADER), session.csrf))
      return sendJson(res, 401, { code: 'UNAUTHORIZED', message: 'no session' })
    sessions.delete(session.id)
    send(res, 204, 'text/plain', '', {
      'set-cookie': `${cookieName(req)}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`,
    })
  }

  const page: Handler = (req, res) => {
    if (!sessionOf(req)) return redirect(res, '/login')
    sendFile(res, 'index.html')
  }

  const sessionInfo: Handler = (req, res) => {
    const session = sessionOf(req)
    if (!session) return sendJson(res, 401, { code: 'UNAUTHORIZED', message: 'no session' })
    sendJson(res, 200, { csrf: session.csrf, system: options.supervisor.config.name })
  }

  const catalog: Handler = (req, res) => {
    if (!authorize(req)) return sendJson(res, 401, { code: 'UNAUTHORIZED', message: 'log in first' })
    sendJson(res, 200, buildCatalog(options.supervisor))
  }

  /** `METHOD path` → handler; `/dashboard/<file>` is looked up in the static files. */
  const routes: Record<string, Handler> = {
    'GET /': page,
    'GET /dashboard/': page,
    'GET /login': (req, res) => (sessionOf(req) ? redirect(res, '/') : loginPage(res, 200)),
    'POST /login': login,
    'POST /logout': logout,
    'GET /dashboard/session': sessionInfo,
    'GET /catalog': catalog,
  }

  function authorize(req: IncomingMessage): boolean {
    if (sameSecret(req.headers.authorization, bearer)) return true
    const session = sessionOf(req)
    if (!session) return false
    return req.method === 'GET' || req.method === 'HEAD' || sameSecret(header(req, CSRF_HEADER), session.csrf)
  }

  return {
    authorize,
    async serve(req, res, path) {
      const route = routes[`${req.method} ${path}`]
      if (route) {
        await route(req, res, path)
        return true
      }
      if (req.method === 'GET' && path.startsWith('/dashboard/')) {
        // Scripts and styles hold no data, so the login page's stylesheet loads without a
        // session; pages go through their routes (the login page is a template).
        const name = path.slice('/dashboard/'.length)
        sendFile(res, name.endsWith('.html') ? '' : name)
        return true
      }
      return false
    },
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name]
  return Array.isArray(v) ? v[0] : v
}
