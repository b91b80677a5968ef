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
  const width = Math.max(...nodes.map((n) => n.col), 0) * (W + GAP_X) + W + 20
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
    const back = x2 <= x1
    const d = back
      ? `M${a.x + W / 2},${a.y + H} C${a.x + W / 2},${a.y + H + 40} ${b.x + W / 2},${b.y + H + 40} ${b.x + W / 2},${b.y + H}`
      : `M${x1},${y1} C${x1 + GAP_X / 2},${y1} ${x2 - GAP_X / 2},${y2} ${x2},${y2}`
    const label = edgeLabel(e)
    picture.append(
      svg(
        'path',
        {
          d,
          class: `edge ${e.kind}${e.stats?.errorRate > 0 ? ' failing' : ''}`,
          'marker-end': 'url(#arrow)',
        },
        svg('title', {}, `${e.from} → ${e.to} (${e.kind})${label ? `: ${label}` : ''}`),
      ),
    )
    if (label) {
      const t = svg('text', {
        x: (x1 + x2) / 2,
        y: (y1 + y2) / 2 - 4,
        class: 'edge-label',
        'text-anchor': 'middle',
      })
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

function edgeLabel(e) {
  if (e.stats)
    return `${formatRate(e.stats.rate)} · ${formatPercent(e.stats.errorRate * 100)} err · p99 ${formatMs(e.stats.p99Ms)}`
  if (e.count) return `${e.count} in recent traces`
  return ''
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
