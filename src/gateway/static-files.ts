import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { extname, resolve, sep } from 'node:path'
import type { FastifyReply } from 'fastify'

export interface StaticOptions {
  /** Folder to serve. */
  root: string
  /** URL prefix, default `/`. Action routes take precedence over files. */
  prefix?: string
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
}

/** Serves one file for a GET that matched no route; resolves false when there is none. */
export type StaticServer = (path: string, reply: FastifyReply) => Promise<boolean>

/**
 * Serves files under `root` at `prefix` (a web page for later: the dashboard). Paths are
 * decoded and resolved inside `root`; anything escaping it, dot-files and non-files are
 * "not found". A directory serves its `index.html`.
 *
 * @example
 * const serve = staticServer({ root: './public', prefix: '/ui/' })
 * if (!(await serve('/ui/app.js', reply))) notFound()
 */
export function staticServer(options: StaticOptions): StaticServer {
  const root = resolve(options.root)
  const prefix = (options.prefix ?? '/').replace(/\/?$/, '/')
  return async (path, reply) => {
    if (!(path === prefix.slice(0, -1) || path.startsWith(prefix))) return false
    let relative: string
    try {
      relative = decodeURIComponent(path.slice(prefix.length))
    } catch {
      return false
    }
    if (relative.includes('\0') || relative.split('/').some((s) => s.startsWith('.'))) return false
    let file = resolve(root, `.${sep}${relative}`)
    if (file !== root && !file.startsWith(root + sep)) return false
    let info = await stat(file).catch(() => undefined)
    if (info?.isDirectory()) {
      file = resolve(file, 'index.html')
      info = await stat(file).catch(() => undefined)
    }
    if (!info?.isFile()) return false
    reply
      .type(TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream')
      .header('content-length', info.size)
      .header('x-content-type-options', 'nosniff')
      .send(createReadStream(file))
    return true
  }
}
