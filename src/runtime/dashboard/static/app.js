// The dashboard's shell: a hash router over the pages and one poller that keeps the
// shared store fresh (status every 1.5 s, catalog and metrics less often) and hands it
// to the page on screen. Pages fetch what only they need (traces, logs) themselves.
import { getJson, getText, logout, Missing, startSession } from './api.js'
import { setText } from './dom.js'
import { parsePrometheus, summarize } from './metrics.js'
import * as events from './page-events.js'
import * as logs from './page-logs.js'
import * as operate from './page-operate.js'
import * as service from './page-service.js'
import * as topology from './page-topology.js'
import * as traces from './page-traces.js'

const POLL_MS = 1500
const store = { system: '', status: undefined, catalog: undefined, metrics: undefined }
const metricsState = { samples: undefined, at: 0 }
let page
let tick = 0

/** `#/service/users` → the service page with `['users']`. */
function route() {
  const [name = 'topology', ...params] = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent)
  const pages = { topology, service, traces, logs, events, operate }
  return { module: pages[name] ?? topology, name: pages[name] ? name : 'topology', params }
}

function show() {
  const { module, name, params } = route()
  const main = document.getElementById('main')
  page?.unmount?.()
  main.replaceChildren()
  for (const a of document.querySelectorAll('nav a'))
    a.toggleAttribute('aria-current', a.getAttribute('href') === `#/${name}`)
  page = module.mount(main, store, params)
  document.title = `${module.title(params)} · ${store.system} · Tessera`
  if (store.status) page.update(store)
  // Keyboard and screen-reader users land on the new page's content.
  main.focus({ preventScroll: true })
}

async function refresh() {
  const live = document.getElementById('live')
  try {
    const wantCatalog = !store.catalog || tick % 4 === 0
    const wantMetrics = tick % 2 === 0
    const [status, catalog, metrics] = await Promise.all([
      getJson('/status'),
      wantCatalog ? getJson('/catalog') : undefined,
      wantMetrics ? getText('/metrics').catch((e) => (e instanceof Missing ? null : undefined)) : undefined,
    ])
    store.status = status
    if (catalog) store.catalog = catalog
    if (typeof metrics === 'string') {
      const samples = parsePrometheus(metrics)
      const now = Date.now()
      store.metrics = summarize(metricsState.samples, samples, (now - metricsState.at) / 1000)
      metricsState.samples = samples
      metricsState.at = now
    } else if (metrics === null) store.metrics = null // no metrics endpoint on this runtime
    tick++
    page?.update(store)
    setText(live, `live · ${new Date().toLocaleTimeString()}`)
    live.classList.remove('lost')
  } catch (err) {
    setText(live, `connection lost (${err.message ?? err}); retrying`)
    live.classList.add('lost')
  }
}

async function start() {
  const session = await startSession()
  store.system = session.system
  setText(document.getElementById('system-name'), session.system)
  document.getElementById('logout').addEventListener('click', () => void logout())
  addEventListener('hashchange', show)
  show()
  // One request chain at a time: a slow answer delays the next poll instead of piling up.
  for (;;) {
    await refresh()
    await new Promise((r) => setTimeout(r, POLL_MS))
  }
}

void start()
