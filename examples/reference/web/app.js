// The web page of the reference system: plain DOM code over the gateway's HTTP API, no
// build step. The access token lives in memory only; the refresh token in sessionStorage
// (this tab), so a reload resumes the session and closing the tab ends it.

const REFRESH_KEY = 'tessera.refreshToken'
const FIELD_LABELS = {
  email: 'Email',
  password: 'Password',
  name: 'Name',
  productId: 'Product',
  quantity: 'Quantity',
  items: 'Items',
  idempotencyKey: 'Order key',
  refreshToken: 'Session',
}

/** @type {{ accessToken: string | null, userId: string | null, refreshing: Promise<boolean> | null }} */
const session = { accessToken: null, userId: null, refreshing: null }
/** The order being placed: retried with the same key until it gets a definite answer. */
let pendingOrder = null
let events = null
let eventRetry = null
const notifications = new Map()
const products = new Map()

const $ = (selector) => {
  const el = document.querySelector(selector)
  if (!el) throw new Error(`missing element ${selector}`)
  return el
}

// ---------------------------------------------------------------------------------------
// API

class ApiError extends Error {
  constructor(status, code, message, data) {
    super(message)
    this.status = status
    this.code = code
    this.data = data
  }
}

/**
 * One call to the gateway. Errors are ApiError with the API's `{ error: { code, message,
 * data } }`; an expired access token is refreshed once and the call repeated.
 */
async function api(method, path, body, { auth = false, retried = false } = {}) {
  const headers = { accept: 'application/json' }
  if (body !== undefined) headers['content-type'] = 'application/json'
  if (auth && session.accessToken) headers.authorization = `Bearer ${session.accessToken}`
  let res
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  } catch {
    throw new ApiError(0, 'NETWORK', 'The server cannot be reached. Check your connection and try again.')
  }
  if (res.status === 401 && auth && !retried && (await refreshSession())) {
    return api(method, path, body, { auth, retried: true })
  }
  const text = await res.text()
  let payload
  try {
    payload = text ? JSON.parse(text) : undefined
  } catch {
    payload = undefined
  }
  if (!res.ok) {
    const error = payload?.error
    throw new ApiError(
      res.status,
      error?.code ?? `HTTP_${res.status}`,
      error?.message ?? `The server answered ${res.status}.`,
      error?.data,
    )
  }
  return payload
}

/** The field an error is about: a validation error's first path, or `data.field`. */
function fieldOf(err) {
  const first = err?.data?.errors?.[0]?.path
  if (typeof first === 'string' && first !== '/') {
    const segments = first.split('/').filter(Boolean)
    // /items/0/quantity → quantity; /email → email
    return segments.findLast((s) => !/^\d+$/.test(s)) ?? segments[0]
  }
  return typeof err?.data?.field === 'string' ? err.data.field : undefined
}

/** A sentence for a person: which field failed and why, or what went wrong and what to do. */
function describe(err) {
  if (!(err instanceof ApiError)) return `Something went wrong: ${err?.message ?? err}`
  const field = fieldOf(err)
  const label = field ? (FIELD_LABELS[field] ?? field) : undefined
  switch (err.code) {
    case 'VALIDATION': {
      const detail = err.data?.errors?.[0]?.message ?? err.message
      return `${label ?? 'Input'}: ${friendly(field, detail)}`
    }
    case 'UNAUTHORIZED':
      return err.message === 'wrong email or password'
        ? 'Wrong email or password.'
        : `Please log in again (${err.message}).`
    case 'RATE_LIMITED':
      return `Too many requests; try again in ${err.data?.retryAfterSec ?? 'a few'} s.`
    case 'CONFLICT':
      return label ? `${label}: ${err.message}.` : `${capitalize(err.message)}.`
    case 'NETWORK':
      return err.message
    case 'UNAVAILABLE':
    case 'CIRCUIT_OPEN':
    case 'OVERLOADED':
    case 'TIMEOUT':
      return `The service is busy or unavailable right now (${err.message}); please try again.`
    default:
      return `${capitalize(err.message)} (${err.code}).`
  }
}

function friendly(field, message) {
  if (/^must match pattern/.test(message)) {
    return field === 'email' ? 'is not a valid email address' : 'contains characters that are not allowed'
  }
  return message
    .replace(/^must NOT have fewer than (\d+) characters$/, 'needs at least $1 characters')
    .replace(/^must NOT have more than (\d+) characters$/, 'may have at most $1 characters')
}

const capitalize = (s) => s.charAt(0).toUpperCase() + s.slice(1)

/** A random key that works outside secure contexts too (crypto.randomUUID needs https or localhost). */
function randomKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  return `web-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`
}

// ---------------------------------------------------------------------------------------
// Session

function setTokens(tokens) {
  session.accessToken = tokens.accessToken
  session.userId = tokens.userId
  sessionStorage.setItem(REFRESH_KEY, tokens.refreshToken)
}

function clearSession() {
  session.accessToken = null
  session.userId = null
  sessionStorage.removeItem(REFRESH_KEY)
  pendingOrder = null
  disconnectEvents()
  notifications.clear()
  render()
}

/** Exchanges the stored refresh token for new tokens; false (and signed out) when it is refused. */
function refreshSession() {
  const refreshToken = sessionStorage.getItem(REFRESH_KEY)
  if (!refreshToken) return Promise.resolve(false)
  session.refreshing ??= api('POST', '/auth/refresh', { refreshToken })
    .then((tokens) => {
      setTokens(tokens)
      return true
    })
    .catch((err) => {
      // A network failure keeps the session for a later try; a refused token ends it.
      if (err instanceof ApiError && err.status === 401) {
        clearSession()
        showBanner('Your session has ended. Please log in again.')
      }
      return false
    })
    .finally(() => {
      session.refreshing = null
    })
  return session.refreshing
}

async function signedIn() {
  render()
  void connectEvents()
  await Promise.all([loadMe(), loadOrders(), loadNotifications()])
}

async function loadMe() {
  try {
    const me = await api('GET', '/me', undefined, { auth: true })
    $('#who').textContent = `Signed in as ${me.name} (${me.email})`
  } catch (err) {
    $('#who').textContent = 'Signed in'
    showBanner(describe(err))
  }
}

// ---------------------------------------------------------------------------------------
// Forms

/** Runs `action` for a form: clears its error, disables its button, shows a failure by the field it names. */
async function submitting(form, action) {
  const error = form.querySelector('[data-error]')
  const button = form.querySelector('button[type=submit]')
  error.textContent = ''
  for (const input of form.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid')
  button.disabled = true
  try {
    await action()
  } catch (err) {
    error.textContent = describe(err)
    const field = fieldOf(err)
    const input = field ? form.querySelector(`[name="${CSS.escape(field)}"]`) : null
    if (input) {
      input.setAttribute('aria-invalid', 'true')
      input.setAttribute('aria-errormessage', error.id || assignId(error))
      input.focus()
    }
  } finally {
    button.disabled = form.id === 'order-form' && !session.accessToken
  }
}

let ids = 0
function assignId(el) {
  el.id = `error-${++ids}`
  return el.id
}

const valuesOf = (form) => Object.fromEntries(new FormData(form).entries())

$('#register-form').addEventListener('submit', (event) => {
  event.preventDefault()
  const form = event.currentTarget
  void submitting(form, async () => {
    const { name, email, password } = valuesOf(form)
    setTokens(await api('POST', '/auth/register', { name: name.trim(), email: email.trim(), password }))
    form.reset()
    await signedIn()
  })
})

$('#login-form').addEventListener('submit', (event) => {
  event.preventDefault()
  const form = event.currentTarget
  void submitting(form, async () => {
    const { email, password } = valuesOf(form)
    setTokens(await api('POST', '/auth/login', { email: email.trim(), password }))
    form.reset()
    await signedIn()
  })
})

$('#logout').addEventListener('click', async () => {
  const refreshToken = sessionStorage.getItem(REFRESH_KEY)
  try {
    await api('POST', '/auth/logout', refreshToken ? { refreshToken } : {}, { auth: true })
  } catch {
    // Signed out locally either way; the access token expires on its own.
  }
  clearSession()
  $('#login-email').focus()
})

$('#order-form').addEventListener('submit', (event) => {
  event.preventDefault()
  const form = event.currentTarget
  const status = $('#order-status')
  status.textContent = ''
  void submitting(form, async () => {
    const { productId } = valuesOf(form)
    const raw = form.elements.quantity.value
    // Sent as typed when it is not a whole number, so the API's message names the field.
    const quantity = /^\d+$/.test(raw) ? Number(raw) : raw
    const same = pendingOrder && pendingOrder.productId === productId && pendingOrder.quantity === quantity
    if (!same) pendingOrder = { key: randomKey(), productId, quantity }
    try {
      const order = await api(
        'POST',
        '/orders',
        { idempotencyKey: pendingOrder.key, items: [{ productId, quantity }] },
        { auth: true },
      )
      pendingOrder = null
      status.textContent = `Order placed: ${order.lines.map((l) => `${l.quantity} × ${l.name}`).join(', ')}, ${money(order.totalCents)}.`
      await Promise.all([loadOrders(), loadProducts()])
    } catch (err) {
      // A definite refusal ends this attempt; after a timeout or outage the same key is reused.
      if (err instanceof ApiError && err.status >= 400 && err.status < 500) pendingOrder = null
      throw err
    }
  })
})

// ---------------------------------------------------------------------------------------
// Catalog, orders, notifications

const money = (cents) => `$${(cents / 100).toFixed(2)}`

async function loadProducts() {
  const error = $('#catalog-error')
  try {
    const { items } = await api('GET', '/products?limit=100')
    error.textContent = ''
    products.clear()
    for (const p of items) products.set(p.id, p)
    renderProducts()
  } catch (err) {
    error.textContent = `Catalog unavailable: ${describe(err)}`
  }
}

async function loadQuote() {
  const line = $('#quote')
  try {
    const q = await api('GET', '/quotes/EUR')
    line.textContent = `Prices in US dollars. 1 USD = ${q.rate} EUR${q.stale ? ' (cached rate)' : ''}.`
  } catch {
    line.textContent = 'Prices in US dollars. Exchange rates are unavailable right now.'
  }
}

async function loadOrders() {
  const error = $('#orders-error')
  try {
    const { items } = await api('GET', '/orders', undefined, { auth: true })
    error.textContent = ''
    renderOrders(items)
  } catch (err) {
    error.textContent = `Orders unavailable: ${describe(err)}`
  }
}

async function loadNotifications() {
  const error = $('#notifications-error')
  try {
    const { items } = await api('GET', '/notifications', undefined, { auth: true })
    error.textContent = ''
    for (const n of items) if (!notifications.has(n.id)) notifications.set(n.id, { ...n, live: false })
    renderNotifications()
  } catch (err) {
    error.textContent = `Notifications unavailable: ${describe(err)}`
  }
}

/**
 * The live stream: `notification.created` events for this user, over Server-Sent Events.
 * Read with fetch() rather than EventSource, which cannot send headers: the gateway takes
 * the token from the Authorization header only (a token in a URL ends up in logs).
 * `events` is this connection's AbortController; a newer connection replaces it, and a
 * loop that finds itself replaced stops quietly.
 */
async function connectEvents() {
  disconnectEvents()
  if (!session.accessToken) return
  const state = $('#live-state')
  const abort = new AbortController()
  events = abort
  state.textContent = 'connecting…'
  let retryMs = 3_000
  let refresh = false
  try {
    const res = await fetch('/events', {
      headers: { accept: 'text/event-stream', authorization: `Bearer ${session.accessToken}` },
      cache: 'no-store',
      signal: abort.signal,
    })
    if (res.status === 401) {
      refresh = true // an expired or revoked token: refresh, then reconnect
    } else if (!res.ok || !res.body) {
      // 429 (this user's streams are capped) says when to try again; other refusals retry later.
      const body = await res.json().catch(() => undefined)
      const after = Number(body?.error?.data?.retryAfterSec ?? res.headers.get('retry-after'))
      if (after > 0) retryMs = after * 1000
      state.textContent = `unavailable (${res.status}), retrying…`
    } else {
      state.textContent = 'connected'
      // Catch up on anything created while the stream was down.
      void loadNotifications()
      await readEvents(res.body, (event, data, retry) => {
        if (retry !== undefined) retryMs = retry
        if (event === 'notification.created') {
          const n = JSON.parse(data)
          notifications.set(n.id, { ...n, live: true })
          renderNotifications()
        } else if (event === 'stream.closed') {
          // The gateway ended the stream: `expired`/`revoked` want a fresh token; `closing`
          // (it is shutting down) wants a reconnect now, most likely to another instance.
          const { reason } = JSON.parse(data)
          refresh = reason === 'expired' || reason === 'revoked'
          if (reason === 'closing') retryMs = 200 + Math.random() * 800
        }
      })
    }
  } catch {
    if (abort.signal.aborted) return // disconnected on purpose
  }
  if (events !== abort) return
  state.textContent = 'disconnected, retrying…'
  eventRetry = setTimeout(
    async () => {
      if (events !== abort) return
      if (!refresh || (await refreshSession())) void connectEvents()
    },
    refresh ? 1_000 : retryMs,
  )
}

/**
 * A small Server-Sent Events parser (the subset the gateway sends, per the HTML spec's
 * rules): frames end at a blank line; `event`, `data` (several lines joined by `\n`) and
 * `retry` fields; lines starting with `:` are comments (heartbeats). Resolves when the
 * stream ends.
 */
async function readEvents(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  let event = ''
  let data = []
  let retry
  for (;;) {
    const { value, done } = await reader.read()
    if (done) return
    buffer += value
    const lines = buffer.split(/\r\n|\r|\n/)
    buffer = lines.pop() // an incomplete last line waits for the next chunk
    for (const line of lines) {
      if (line === '') {
        if (data.length > 0) onEvent(event || 'message', data.join('\n'), retry)
        else if (retry !== undefined) onEvent('', '', retry)
        event = ''
        data = []
        retry = undefined
        continue
      }
      if (line.startsWith(':')) continue
      const colon = line.indexOf(':')
      const field = colon === -1 ? line : line.slice(0, colon)
      const text = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '')
      if (field === 'event') event = text
      else if (field === 'data') data.push(text)
      else if (field === 'retry' && /^\d+$/.test(text)) retry = Number(text)
    }
  }
}

function disconnectEvents() {
  clearTimeout(eventRetry)
  events?.abort()
  events = null
  $('#live-state').textContent = 'not connected'
}

// ---------------------------------------------------------------------------------------
// Rendering (textContent only: nothing from the API is ever parsed as HTML)

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag)
  Object.assign(node, props)
  node.append(...children)
  return node
}

function render() {
  const on = Boolean(session.accessToken)
  $('#session').hidden = !on
  $('#account').hidden = on
  $('#orders').hidden = !on
  $('#notifications').hidden = !on
  $('#order-hint').hidden = on
  $('#order-form button[type=submit]').disabled = !on
  if (!on) {
    $('#who').textContent = ''
    renderOrders([])
    renderNotifications()
  }
}

function renderProducts() {
  const rows = [...products.values()].map((p) =>
    el(
      'tr',
      {},
      el('td', { textContent: p.name }),
      el('td', { className: 'num', textContent: money(p.priceCents) }),
      el('td', { className: 'num', textContent: p.stock > 0 ? String(p.stock) : 'sold out' }),
    ),
  )
  $('#products').replaceChildren(...rows)
  const select = $('#order-product')
  const chosen = select.value
  select.replaceChildren(
    ...[...products.values()].map((p) =>
      el('option', {
        value: p.id,
        textContent: `${p.name} (${money(p.priceCents)})${p.stock > 0 ? '' : ' (sold out)'}`,
        selected: p.id === chosen,
      }),
    ),
  )
}

function renderOrders(items) {
  $('#orders-empty').hidden = items.length > 0
  $('#order-list').replaceChildren(
    ...items.map((o) =>
      el(
        'li',
        {},
        el('strong', { textContent: money(o.totalCents) }),
        ` ${o.lines.map((l) => `${l.quantity} × ${l.name}`).join(', ')} `,
        el('time', {
          dateTime: o.createdAt,
          textContent: new Date(o.createdAt).toLocaleString(),
          className: 'muted',
        }),
      ),
    ),
  )
}

function renderNotifications() {
  const items = [...notifications.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt))
  $('#notification-list').replaceChildren(
    ...items.map((n) =>
      el(
        'li',
        { className: n.live ? 'live' : '' },
        n.live ? el('span', { className: 'badge', textContent: 'new' }) : '',
        el('span', { textContent: ` ${n.message} ` }),
        el('time', {
          dateTime: n.createdAt,
          textContent: new Date(n.createdAt).toLocaleTimeString(),
          className: 'muted',
        }),
      ),
    ),
  )
}

function showBanner(message) {
  const banner = $('#banner')
  banner.textContent = message
  banner.hidden = false
  clearTimeout(showBanner.timer)
  showBanner.timer = setTimeout(() => {
    banner.hidden = true
  }, 8_000)
}

// ---------------------------------------------------------------------------------------
// Start

render()
void loadProducts()
void loadQuote()
if (sessionStorage.getItem(REFRESH_KEY)) {
  void refreshSession().then((ok) => (ok ? signedIn() : undefined))
}
