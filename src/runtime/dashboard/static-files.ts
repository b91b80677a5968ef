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
 * ever served, so no request path reaches the file system. A missing folder (a broken
 * install) gives no files, so the pages answer 404 while the control API keeps working.
 */
export function loadStaticFiles(dir = STATIC_DIR): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>()
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return files
  }
  for (const name of names) {
    const type = TYPES[extname(name)]
    if (type) files.set(name, { type, body: readFileSync(`${dir}${name}`) })
  }
  return files
}
