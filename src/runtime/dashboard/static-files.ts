import { readdirSync, readFileSync } from 'node:fs'
import { extname } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The page's files, beside this module in src/ and copied beside it into dist/ by scripts/build.mjs. */
export const STATIC_DIR = fileURLToPath(new URL('./static/', import.meta.url))

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
}

export interface StaticFile {
  type: string
  body: Buffer
}

/**
 * The dashboard's static files, read once: only names listed in the folder at start are
 * ever served, so no request path reaches the file system.
 */
export function loadStaticFiles(dir = STATIC_DIR): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>()
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)]
    if (type) files.set(name, { type, body: readFileSync(`${dir}${name}`) })
  }
  return files
}
