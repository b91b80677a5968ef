/**
 * Field names whose values never reach a log line, wherever they sit in the first four
 * levels of a record (`password`, `user.password`, `err.data.token`,
 * `req.headers.authorization`, `users[3].password`).
 */
export const SECRET_KEYS = [
  'password',
  'passwd',
  'pass',
  'token',
  'accessToken',
  'refreshToken',
  'idToken',
  'authorization',
  'Authorization',
  'cookie',
  'set-cookie',
  'secret',
  'clientSecret',
  'credential',
  'credentials',
  'privateKey',
  'apiKey',
  'seed',
  // The runtime's instance environment (node id, transport, NATS credentials if configured):
  // a handler logging `process.env` must not copy it into the log.
  'TESSERA_INSTANCE',
] as const

/** What a redacted value reads as. */
export const REDACTED = '[Redacted]'

/** Levels below the record's own that are searched (0: only its own keys). */
const MAX_DEPTH = 3

/**
 * `value` with the values under secret keys replaced by `[Redacted]`, down to four levels
 * (plain objects, arrays and errors; other objects such as a Buffer or a Date are left as
 * they are). Copy on write: what holds no secret is returned as is, and the caller's
 * objects are never changed; an error is copied with its prototype, so it still logs as
 * an error. Why not pino's `redact`: its wildcard paths (`*.password`, `*.*.password`)
 * made each line ~40× slower to write (0.6 → 22 µs); this walk costs about as much as the
 * serialisation it precedes.
 */
export function redactSecrets<T>(value: T, secrets: ReadonlySet<string> = SECRETS, depth = 0): T {
  if (typeof value !== 'object' || value === null) return value
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i]
      const clean = depth < MAX_DEPTH ? redactSecrets(item, secrets, depth + 1) : item
      if (clean === item) continue
      copy ??= value.slice()
      copy[i] = clean
    }
    return (copy ?? value) as T
  }
  const proto: unknown = Object.getPrototypeOf(value)
  const isError = value instanceof Error
  if (proto !== Object.prototype && proto !== null && !isError) return value
  let copy: Record<string, unknown> | undefined
  const source = value as Record<string, unknown>
  for (const key in source) {
    if (!Object.hasOwn(source, key)) continue
    const item = source[key]
    const clean = secrets.has(key)
      ? REDACTED
      : depth < MAX_DEPTH
        ? redactSecrets(item, secrets, depth + 1)
        : item
    if (clean === item) continue
    copy ??= isError ? copyError(value) : { ...source }
    copy[key] = clean
  }
  return (copy ?? value) as T
}

const SECRETS: ReadonlySet<string> = new Set(SECRET_KEYS)

/**
 * An error's copy with its prototype and own properties. Newer V8 (Node 22+) makes
 * `stack` an own accessor that reads the original's internal slot, so copied as an
 * accessor it would read empty on the copy: it is copied as the value it has.
 */
function copyError(error: Error): Record<string, unknown> {
  const descriptors = Object.getOwnPropertyDescriptors(error)
  const stack = error.stack
  if (descriptors.stack && 'get' in descriptors.stack && stack !== undefined)
    descriptors.stack = { value: stack, writable: true, configurable: true, enumerable: false }
  return Object.create(Object.getPrototypeOf(error) as object, descriptors) as Record<string, unknown>
}
