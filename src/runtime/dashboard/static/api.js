// The page's only way to the server: same-origin requests with the session cookie (the
// browser sends it; scripts never see it) and, on POST, the session's CSRF token header.
// Nothing secret is ever put in a URL.

let csrf = ''

/** Thrown when an endpoint is not there (404): pages show "not available" instead. */
export class Missing extends Error {}

/** Loads the session's CSRF token and the system name; sends the browser to the login page without a session. */
export async function startSession() {
  const info = await getJson('/dashboard/session')
  csrf = info.csrf
  return info
}

function toLogin() {
  location.assign('/login')
  return new Promise(() => {}) // the page is going away
}

async function get(path) {
  const res = await fetch(path, { credentials: 'same-origin', headers: { accept: 'application/json' } })
  if (res.status === 401) return toLogin()
  if (!res.ok) {
    const err = await res.json().catch(() => ({}))
    // The control API answers `no route GET /x` for an endpoint this runtime does not have.
    if (res.status === 404 && (!err.message || err.message.startsWith('no route'))) throw new Missing(path)
    throw new Error(err.message ?? `${path}: ${res.status}`)
  }
  return res
}

export const getJson = async (path) => (await get(path)).json()
export const getText = async (path) => (await get(path)).text()

/** `/path?k=v` from the filled-in fields of `params` only. */
export function withQuery(path, params) {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v))
  const s = q.toString()
  return s ? `${path}?${s}` : path
}

/**
 * Runs a control operation (`scale`, `restart`, `deploy`, `stop-instance`…) and hands each
 * NDJSON progress line to `onProgress` as it arrives. Resolves with the result; rejects
 * with the operation's error (`code: message`).
 */
export async function runOperation(op, body, onProgress) {
  const res = await fetch(`/${op}`, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
    body: JSON.stringify(body),
  })
  if (res.status === 401) return toLogin()
  if (!res.ok || !res.body) {
    const err = await res.json().catch(() => ({}))
    throw new Error(err.message ?? `${op}: ${res.status}`)
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
  let buffered = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    buffered += value
    let nl = buffered.indexOf('\n')
    while (nl >= 0) {
      const line = JSON.parse(buffered.slice(0, nl))
      buffered = buffered.slice(nl + 1)
      nl = buffered.indexOf('\n')
      if (line.type === 'progress') onProgress(line.message)
      else if (line.type === 'done') return line.result
      else if (line.type === 'error') throw new Error(`${line.code}: ${line.message}`)
    }
  }
  throw new Error(`${op}: the server closed without a result`)
}

export async function logout() {
  await fetch('/logout', { method: 'POST', credentials: 'same-origin', headers: { 'x-csrf-token': csrf } })
  location.assign('/login')
}
