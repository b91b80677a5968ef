// Topology: units as boxes (instances as dots coloured by state), calls and events as
// arrows labelled with live rate, error rate and p99; a table below says the same in
// text (and is what a phone shows best).
import { getJson } from './api.js'
import { empty, formatMs, formatPercent, formatRate, h, keyedRows, setText, svg } from './dom.js'
import { edges, layout } from './graph.js'
import { spansOfTrace, summaries } from './trace-model.js'

const W = 190
const H = 74
const GAP_X = 90
const GAP_Y = 26

export const title = () => 'Topology'

export function mount(main) {
  const figure = h('figure', { class: 'topology' })
  const note = h('p', { class: 'note' })
  const totals = h('p', { class: 'totals' }, 'Calls handled: ', h('output', { id: 'calls-handled' }, '-'))
  const tbody = h('tbody')
  const edgeRows = h('tbody')
  const headers = (names) => h('thead', {}, h('tr', {}, ...names.map((c) => h('th', { scope: 'col' }, c))))
  main.append(
    h('h1', {}, 'Topology'),
    totals,
    figure,
    note,
    legend(),
    h(
      'table',
      { 'aria-label': 'Services' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['Unit', 'Services', 'State', 'Instances', 'Req/s', 'Restarts'].map((c) =>
            h('th', { scope: 'col' }, c),
          ),
        ),
      ),
      tbody,
    ),
    h(
      'div',
      { class: 'scroll' },
      h(
        'table',
        { 'aria-label': 'Calls and events' },
        headers(['From', 'To', 'Kind', 'Rate', 'Errors', 'p99', 'Known from']),
        edgeRows,
      ),
    ),
  )
  let spans = []
  let lastTraces = 0
  let drawn = ''
  return {
    update(store) {
      const { status, catalog, metrics } = store
      if (Date.now() - lastTraces > 5000) {
        lastTraces = Date.now()
        recentSpans()
          .then((s) => (spans = s))
          // No trace store on this runtime (Missing) or a failed poll: keep the other edges.
          .catch(() => {})
      }
      const es = edges(status, catalog, metrics, spans)
      const picture = draw(status, catalog, es)
      // Redraw only on change: a focused node link survives polls that change nothing.
      const key = picture.outerHTML
      if (key !== drawn) {
        drawn = key
        // A keyboard user on a node keeps their place across the redraw.
        const focused = figure.contains(document.activeElement)
          ? document.activeElement.dataset?.unit
          : undefined
        figure.replaceChildren(
          picture,
          h('figcaption', { class: 'visually-hidden' }, `${status.units.length} units`),
        )
        if (focused) picture.querySelector(`a[data-unit="${CSS.escape(focused)}"]`)?.focus()
      }
      const sources = new Set(es.map((e) => e.source))
      setText(
        note,
        sources.has('traces')
          ? 'Edges from recent traces, the config and metrics.'
          : 'No traces yet: edges from the config (dependsOn) and the call metrics.',
      )
      setText(document.getElementById('calls-handled'), metrics ? String(metrics.handled) : 'no metrics yet')
      keyedRows(
        tbody,
        status.units,
        (u) => u.name,
        (u) =>
          h(
            'tr',
            {},
            h('th', { scope: 'row' }, h('a', { href: `#/service/${encodeURIComponent(u.name)}` }, u.name)),
            h('td'),
            h('td'),
            h('td'),
            h('td'),
            h('td'),
          ),
        (tr, u) => {
          const [, services, state, instances, rps, restarts] = tr.children
          setText(services, [...u.services, ...u.adapters].join(', ') || '-')
          setText(state, u.state)
          setText(
            instances,
            `${u.instances.filter((i) => i.state === 'ready').length}/${u.instances.length} ready`,
          )
          setText(
            rps,
            u.instances.reduce((n, i) => n + (i.reqPerSec ?? 0), 0),
          )
          setText(restarts, u.restarts)
        },
      )
      keyedRows(
        edgeRows,
        es,
        (e) => `${e.from}>${e.to}>${e.kind}`,
        () => h('tr', {}, h('th', { scope: 'row' }), ...[1, 2, 3, 4, 5, 6].map(() => h('td'))),
        (tr, e) => {
          const [from, to, kind, rate, errors, p99, source] = tr.children
          setText(from, e.from)
          setText(to, e.to)
          setText(kind, e.kind)
          setText(rate, e.stats ? formatRate(e.stats.rate) : '-')
          setText(errors, e.stats ? formatPercent(e.stats.errorRate * 100) : '-')
          setText(p99, formatMs(e.stats?.p99Ms))
          setText(source, e.count ? `${e.source} (${e.count} spans)` : e.source)
        },
      )
    },
  }
}

/** The spans of the 10 newest traces: enough to see who calls whom, few requests. */
async function recentSpans() {
  const list = summaries(await getJson('/traces?limit=10'))
  const traces = await Promise.all(
    list.map((t) => getJson(`/traces/${encodeURIComponent(t.traceId)}`).catch(() => undefined)),
  )
  return traces.flatMap((answer) => (answer ? spansOfTrace(answer) : []))
}

function draw(status, catalog, es) {
  const nodes = layout(status, catalog)
  const pos = new Map(
    nodes.map((n) => [n.unit.name, { x: 10 + n.col * (W + GAP_X), y: 10 + n.row * (H + GAP_Y) }]),
  )
  const width = Math.max(...nodes.map((n) => n.col), 0) * (W + GAP_X) + W + GAP_X
  const height = Math.max(...nodes.map((n) => n.row), 0) * (H + GAP_Y) + H + 20
  const picture = svg('svg', {
    viewBox: `0 0 ${width} ${height}`,
    role: 'img',
    'aria-label': 'Services and their calls',
    class: 'graph',
  })
  picture.append(
    svg(
      'defs',
      {},
      svg(
        'marker',
        {
          id: 'arrow',
          viewBox: '0 0 10 10',
          refX: 10,
          refY: 5,
          markerWidth: 7,
          markerHeight: 7,
          orient: 'auto-start-reverse',
        },
        svg('path', { d: 'M0,0 L10,5 L0,10 z' }),
      ),
    ),
  )
  for (const e of es) {
    const a = pos.get(e.from)
    const b = pos.get(e.to)
    if (!a || !b) continue
    const [x1, y1, x2, y2] = [a.x + W, a.y + H / 2, b.x, b.y + H / 2]
    // Forward: right side to left side across the gap. Within a column (or backwards):
    // out of and into the right sides, bulging into the gap, so it never crosses a box.
    const bulge = Math.max(a.x, b.x) + W + GAP_X * 0.6
    const pts =
      x2 > x1
        ? [
            [x1, y1],
            [x1 + GAP_X / 2, y1],
            [x2 - GAP_X / 2, y2],
            [x2, y2],
          ]
        : [
            [x1, y1],
            [bulge, y1],
            [bulge, y2],
            [b.x + W, y2],
          ]
    const d = `M${pts[0]} C${pts[1]} ${pts[2]} ${pts[3]}`
    const label = edgeLabel(e)
    picture.append(
      svg(
        'path',
        {
          d,
          class: `edge ${e.kind}${e.stats?.errorRate > 0 ? ' failing' : ''}`,
          'marker-end': 'url(#arrow)',
        },
        svg('title', {}, edgeTitle(e)),
      ),
    )
    if (label) {
      // The curve's midpoint (a cubic Bézier at t = ½), which lies in the gap.
      const mid = [0, 1].map((k) => (pts[0][k] + 3 * pts[1][k] + 3 * pts[2][k] + pts[3][k]) / 8)
      const t = svg('text', { x: mid[0], y: mid[1] - 4, class: 'edge-label', 'text-anchor': 'middle' })
      t.textContent = label
      picture.append(t)
    }
  }
  for (const n of nodes) {
    const { x, y } = pos.get(n.unit.name)
    const link = svg('a', {
      href: `#/service/${encodeURIComponent(n.unit.name)}`,
      class: `node ${n.unit.state}`,
      'data-unit': n.unit.name,
    })
    const name = svg('text', { x: x + 10, y: y + 22, class: 'node-name' })
    name.textContent = n.unit.name
    const detail = svg('text', { x: x + 10, y: y + 42, class: 'node-detail' })
    const ready = n.unit.instances.filter((i) => i.state === 'ready').length
    detail.textContent = `${ready}/${n.unit.instances.length} ready · ${n.unit.instances.reduce((s, i) => s + (i.reqPerSec ?? 0), 0)} req/s`
    link.append(
      svg(
        'title',
        {},
        `${n.unit.name}: ${n.unit.state}, ${ready} of ${n.unit.instances.length} instances ready`,
      ),
    )
    link.append(svg('rect', { x, y, width: W, height: H, rx: 8 }), name, detail)
    n.unit.instances.forEach((inst, i) => {
      link.append(
        svg(
          'circle',
          { cx: x + 16 + i * 16, cy: y + H - 14, r: 5, class: `dot ${inst.state}` },
          svg('title', {}, `${inst.label}: ${inst.state}`),
        ),
      )
    })
    picture.append(link)
  }
  if (nodes.length === 0) return empty('No units.')
  return picture
}

/** What the picture says on an edge: only traffic (rate, and errors and p99 when known). */
function edgeLabel(e) {
  if (!e.stats || !(e.stats.rate > 0)) return ''
  const parts = [formatRate(e.stats.rate)]
  if (e.stats.errorRate > 0) parts.push(`${formatPercent(e.stats.errorRate * 100)} err`)
  if (e.stats.p99Ms !== undefined) parts.push(`p99 ${formatMs(e.stats.p99Ms)}`)
  return parts.join(' · ')
}

function edgeTitle(e) {
  const seen = e.count ? `, ${e.count} in recent traces` : ''
  return `${e.from} → ${e.to} (${e.kind}${seen})${edgeLabel(e) ? `: ${edgeLabel(e)}` : ''}`
}

function legend() {
  const states = ['ready', 'starting', 'draining', 'restarting', 'exited', 'crash-loop']
  return h(
    'ul',
    { class: 'legend', 'aria-label': 'Instance states' },
    ...states.map((s) => h('li', {}, h('span', { class: `swatch ${s}`, 'aria-hidden': 'true' }), s)),
    h('li', {}, h('span', { class: 'swatch call-edge', 'aria-hidden': 'true' }), 'call'),
    h('li', {}, h('span', { class: 'swatch event-edge', 'aria-hidden': 'true' }), 'event'),
  )
}
