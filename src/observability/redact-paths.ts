/**
 * Field names whose values never reach a log line, at the top of a record and up to
 * two levels down (`user.password`, `err.data.token`, `req.headers.authorization`).
 * Deeper nesting is not covered: pino's wildcards cost a walk per level on every line.
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

/** `SECRET_KEYS` as pino `redact` paths: each key bare, under one and under two objects. */
export const REDACT_PATHS: readonly string[] = SECRET_KEYS.flatMap((key) => {
  const step = /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `["${key}"]`
  return [step.startsWith('.') ? key : step, `*${step}`, `*.*${step}`]
})

/** What a redacted value reads as. */
export const REDACTED = '[Redacted]'
