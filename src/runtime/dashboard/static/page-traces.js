// Traces: recent ones searchable by request id, service, status, and sorted by time or
// slowest first; one trace as a waterfall of its spans across services.
import { getJson, Missing, withQuery } from './api.js'
import { empty, formatMs, h, keyedRows, setText } from './dom.js'
import { spansOfTrace, summaries, treeOrder } from './trace-model.js'

export const title = ([id]) => (id && !id.startsWith('?') ? `Trace ${id.slice(0, 8)}` : 'Traces')

export function mount(main, _store, params) {
  const [id] = params
  if (id && !id.startsWith('?')) return mountWaterfall(main, id)
  return mountList(main, new URLSearchParams(id?.slice(1) ?? ''))
}

function mountList(main, prefill) {
  const field = (label, input) => h('label', {}, h('span', {}, label), input)
  const requestId = h('input', {
    name: 'requestId',
    type: 'search',
    value: prefill.get('requestId') ?? '',
    spellcheck: 'false',
  })
  const service = h('select', { name: 'service' }, h('option', { value: '' }, 'any'))
  const status = h(
    'select',
    { name: 'status' },
    ...['any', 'ok', 'error'].map((s) => h('option', { value: s === 'any' ? '' : s }, s)),
  )
  const sort = h(
    'select',
    { name: 'sort' },
    h('option', { value: 'newest' }, 'newest'),
    h('option', { value: 'slowest' }, 'slowest'),
  )
  const form = h(
    'form',
    {
      class: 'filters',
      'aria-label': 'Search traces',
      onsubmit: (e) => {
        e.preventDefault()
        void load()
      },
    },
    field('Request id', requestId),
    field('Service', service),
    field('Status', status),
    field('Sort', sort),
    h('button', { type: 'submit' }, 'Search'),
  )
  for (const el of [service, status, sort]) el.addEventListener('change', () => load())
  const message = h('p', { class: 'empty', role: 'status' })
  const tbody = h('tbody')
  main.append(
    h('h1', {}, 'Traces'),
    form,
    message,
    h(
      'div',
      { class: 'scroll' },
      h(
        'table',
        { 'aria-label': 'Traces' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ...['Trace', 'Started', 'Duration', 'Services', 'Spans', 'Status', 'Request id'].map((c) =>
              h('th', { scope: 'col' }, c),
            ),
          ),
        ),
        tbody,
      ),
    ),
  )
  let lastLoad = 0
  async function load() {
    lastLoad = Date.now()
    const filters = {
      requestId: requestId.value.trim(),
      service: service.value,
      status: status.value,
      order: sort.value,
      limit: 100,
    }
    let list
    try {
      list = summaries(await getJson(withQuery('/traces', filters)))
    } catch (e) {
      tbody.replaceChildren()
      setText(
        message,
        e instanceof Missing
          ? 'No traces yet: this runtime keeps no trace store.'
          : `Traces unavailable: ${e.message}`,
      )
      return
    }
    // Filtered here too, whatever the server already did.
    list = list.filter(
      (t) =>
        (!filters.requestId || t.requestId === filters.requestId) &&
        (!filters.service || t.services.includes(filters.service)) &&
        (!filters.status || t.status === filters.status),
    )
    list.sort((a, b) => (filters.order === 'slowest' ? b.durationMs - a.durationMs : b.startMs - a.startMs))
    setText(message, list.length ? `${list.length} trace(s)` : 'No traces yet.')
    keyedRows(
      tbody,
      list,
      (t) => t.traceId,
      (t) =>
        h(
          'tr',
          {},
          h('th', { scope: 'row' }, h('a', { href: `#/traces/${t.traceId}` }, t.name)),
          h('td'),
          h('td'),
          h('td'),
          h('td'),
          h('td'),
          h('td'),
        ),
      (tr, t) => {
        const [, started, duration, services, spans, st, req] = tr.children
        setText(started, t.startMs ? new Date(t.startMs).toLocaleTimeString() : '-')
        setText(duration, formatMs(t.durationMs))
        setText(services, t.services.join(', '))
        setText(spans, t.spanCount ?? '-')
        setText(st, t.status)
        st.className = `status ${t.status}`
        setText(req, t.requestId ?? '-')
      },
    )
  }
  return {
    update(s) {
      const names = [
        ...new Set([...(s.catalog?.services.map((x) => x.name) ?? []), ...s.status.units.map((u) => u.name)]),
      ].sort()
      if (service.options.length !== names.length + 1)
        service.replaceChildren(
          h('option', { value: '' }, 'any'),
          ...names.map((n) => h('option', { value: n }, n)),
        )
      if (Date.now() - lastLoad > 3000) void load()
    },
  }
}

function mountWaterfall(main, id) {
  const body = h('div', { class: 'waterfall' }, empty('Loading…'))
  main.append(
    h('p', {}, h('a', { href: '#/traces' }, '← Traces')),
    h('h1', {}, 'Trace ', h('code', {}, id)),
    body,
  )
  let loaded = false
  return {
    update() {
      if (loaded) return // a finished trace does not change
      loaded = true
      getJson(`/traces/${encodeURIComponent(id)}`).then(
        (answer) => body.replaceChildren(waterfall(spansOfTrace(answer))),
        (e) =>
          body.replaceChildren(
            empty(
              e instanceof Missing
                ? 'No such trace (it may have been dropped from the recent ones).'
                : e.message,
            ),
          ),
      )
    },
  }
}

function waterfall(spans) {
  if (spans.length === 0) return empty('This trace has no spans.')
  const t0 = Math.min(...spans.map((s) => s.startMs))
  const total = Math.max(...spans.map((s) => s.startMs + s.durationMs)) - t0 || 1
  const services = [...new Set(spans.map((s) => s.service))]
  return h(
    'div',
    {},
    h(
      'p',
      {},
      `${spans.length} spans across ${services.length} service(s): ${services.join(', ')} · ${formatMs(total)}`,
    ),
    h(
      'div',
      { class: 'scroll' },
      h(
        'table',
        { 'aria-label': 'Spans', class: 'spans' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ...['Span', 'Service', 'Start', 'Duration', 'Status', 'Timeline'].map((c) =>
              h('th', { scope: 'col' }, c),
            ),
          ),
        ),
        h(
          'tbody',
          {},
          ...treeOrder(spans).map(({ span: s, depth }) =>
            h(
              'tr',
              { class: s.status === 'error' ? 'error' : '' },
              h(
                'th',
                { scope: 'row', style: undefined },
                h('span', { class: 'indent', 'data-depth': Math.min(depth, 12) }),
                `${s.name} `,
                h('small', {}, s.kind),
              ),
              h('td', {}, s.service),
              h('td', {}, `+${formatMs(s.startMs - t0)}`),
              h('td', {}, formatMs(s.durationMs)),
              h('td', { class: `status ${s.status}` }, s.status === 'error' ? (s.code ?? 'error') : 'ok'),
              h(
                'td',
                { class: 'timeline', 'aria-hidden': 'true' },
                bar(
                  ((s.startMs - t0) / total) * 100,
                  Math.max((s.durationMs / total) * 100, 0.5),
                  s.service,
                  services,
                ),
              ),
            ),
          ),
        ),
      ),
    ),
  )
}

/**
 * The span's bar. CSP forbids inline styles, so its offset and width are SVG attributes
 * (percentages of the cell), not a style attribute.
 */
function bar(left, width, service, services) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', 'svg')
  el.setAttribute('class', 'bar')
  el.setAttribute('preserveAspectRatio', 'none')
  const rect = document.createElementNS('http://www.w3.org/2000/svg', 'rect')
  for (const [k, v] of Object.entries({
    x: `${left}%`,
    y: 2,
    width: `${width}%`,
    height: 12,
    class: `c${services.indexOf(service) % 8}`,
  }))
    rect.setAttribute(k, String(v))
  el.append(rect)
  return el
}
