import type { IncomingMessage, ServerResponse } from 'node:http'

/**
 * Headers on every dashboard response: only this origin's scripts, styles and requests,
 * never framed, no referrer to other sites (and `same-origin` rather than `no-referrer`: with
 * that, Chromium sends `Origin: null` on the login form's POST, which the origin check refuses).
 */
export const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
} as const

export function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string | Buffer,
  headers: Record<string, string | string[]> = {},
): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': type,
    'cache-control': 'no-store',
    ...headers,
  })
  res.end(body)
}

export const sendJson = (res: ServerResponse, status: number, body: unknown) =>
  send(res, status, 'application/json', JSON.stringify(body))

export const redirect = (res: ServerResponse, location: string, headers: Record<string, string> = {}) =>
  send(res, 303, 'text/plain; charset=utf-8', '', { location, ...headers })

/** The value of cookie `name` in the request, if any. */
export function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}

/**
 * True when the request names this server as its host (127.0.0.1 or localhost on its
 * port) and, if it carries an Origin, comes from that origin: a page on another origin
 * (DNS rebinding, a site posting a form at 127.0.0.1) gets nothing from a session.
 */
export function sameOrigin(req: IncomingMessage): boolean {
  const port = req.socket.localPort
  const hosts = [`127.0.0.1:${port}`, `localhost:${port}`]
  const host = req.headers.host ?? ''
  if (!hosts.includes(host)) return false
  const origin = req.headers.origin
  return origin === undefined || origin === `http://${host}`
}

export async function readSmallBody(req: IncomingMessage, limit = 8 * 1024): Promise<string | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > limit) return undefined
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}
