/**
 * Plain data (objects, arrays, strings, numbers, booleans) as YAML, one document per
 * object joined by `---`. Strings are always JSON-quoted (valid YAML, and no value is ever
 * read back as a number, a boolean or null); keys are quoted when they are not plain words.
 */
export function toYaml(documents: readonly unknown[]): string {
  return documents.map((d) => `${node(d, 0).replace(/^\n/, '')}\n`).join('---\n')
}

function node(value: unknown, indent: number): string {
  const pad = '  '.repeat(indent)
  if (Array.isArray(value)) {
    if (value.length === 0) return ' []'
    return value
      .map((item) => {
        const inner = node(item, indent + 1)
        // An object item starts on the dash's line: "- key: value".
        return isObject(item) && Object.keys(item).length > 0
          ? `\n${pad}- ${inner.trimStart()}`
          : `\n${pad}-${inner}`
      })
      .join('')
  }
  if (isObject(value)) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined)
    if (entries.length === 0) return ' {}'
    return entries.map(([k, v]) => `\n${pad}${key(k)}:${node(v, indent + 1)}`).join('')
  }
  if (typeof value === 'string') return ` ${JSON.stringify(value)}`
  if (typeof value === 'number' || typeof value === 'boolean') return ` ${String(value)}`
  throw new TypeError(`not plain data: ${String(value)}`)
}

function key(k: string): string {
  return /^[A-Za-z_][A-Za-z0-9_.\-/]*$/.test(k) ? k : JSON.stringify(k)
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
