// The system as a graph: units as nodes (callers left, callees right), edges from what
// is known best — traces (caller → callee spans, emits → deliveries), then metrics
// (calls by caller), then the config's dependsOn.

/** Nodes with their column (longest dependsOn path from a unit nobody depends on) and row. */
export function layout(status, catalog) {
  const units = status.units.map((u) => u.name)
  const deps = dependsOnEdges(status, catalog)
  const col = new Map(units.map((u) => [u, 0]))
  // Longest path: relax |units| times (the config has no cycles).
  for (let i = 0; i < units.length; i++)
    for (const e of deps) if (col.get(e.to) <= col.get(e.from)) col.set(e.to, col.get(e.from) + 1)
  const rows = new Map()
  return status.units.map((u) => {
    const c = col.get(u.name) ?? 0
    const r = rows.get(c) ?? 0
    rows.set(c, r + 1)
    return { unit: u, col: c, row: r }
  })
}

/** The unit hosting a service name (or the unit of that name). */
export function unitOf(status, name) {
  return status.units.find((u) => u.name === name || u.services.includes(name) || u.adapters.includes(name))
    ?.name
}

function dependsOnEdges(status, catalog) {
  const edges = []
  const add = (from, to) => {
    const f = unitOf(status, from)
    const t = unitOf(status, to)
    if (f && t && f !== t && !edges.some((e) => e.from === f && e.to === t)) edges.push({ from: f, to: t })
  }
  for (const s of catalog?.services ?? []) for (const d of s.dependsOn) add(s.name, d)
  for (const a of catalog?.adapters ?? []) for (const d of a.dependsOn) add(a.name, d)
  return edges
}

/** Caller→callee and emitter→subscriber pairs in the spans of recent traces. */
export function traceEdges(spans) {
  const byId = new Map(spans.map((s) => [s.spanId, s]))
  const pairs = new Map()
  for (const s of spans) {
    const parent = s.parentSpanId && byId.get(s.parentSpanId)
    if (!parent || parent.unit === s.unit) continue
    const kind = s.kind === 'consumer' || parent.kind === 'producer' ? 'event' : 'call'
    const key = `${parent.unit}>${s.unit}>${kind}`
    const p = pairs.get(key) ?? { from: parent.unit, to: s.unit, kind, count: 0, errors: 0 }
    p.count++
    if (s.status === 'error') p.errors++
    pairs.set(key, p)
  }
  return [...pairs.values()]
}

/**
 * Every edge to draw: `{ from, to, kind, source, stats? }`, one per (from, to, kind);
 * stats (rate, errorRate, p99Ms) from metrics where the caller's calls are counted.
 */
export function edges(status, catalog, metrics, spans) {
  const out = new Map()
  const put = (e) => {
    const key = `${e.from}>${e.to}>${e.kind}`
    if (!out.has(key)) out.set(key, e)
  }
  for (const e of traceEdges(spans ?? [])) put({ ...e, source: 'traces' })
  for (const key of metrics?.edges.keys() ?? []) {
    const [caller, service] = key.split('>')
    const from = unitOf(status, caller)
    const to = unitOf(status, service)
    if (from && to && from !== to) put({ from, to, kind: 'call', source: 'metrics' })
  }
  for (const e of dependsOnEdges(status, catalog)) put({ ...e, kind: 'call', source: 'config' })
  // Metrics name the callee service: add up every caller-service of the `from` unit.
  for (const e of out.values()) {
    if (e.kind !== 'call' || !metrics) continue
    let rate = 0
    let errors = 0
    let p99
    let seen = false
    for (const [key, s] of metrics.edges) {
      const [caller, service] = key.split('>')
      if (unitOf(status, caller) !== e.from || unitOf(status, service) !== e.to) continue
      seen = true
      rate += s.rate ?? 0
      errors += (s.rate ?? 0) * s.errorRate
      if (s.p99Ms !== undefined) p99 = Math.max(p99 ?? 0, s.p99Ms)
    }
    if (seen) e.stats = { rate, errorRate: rate > 0 ? errors / rate : 0, p99Ms: p99 }
  }
  return [...out.values()]
}
