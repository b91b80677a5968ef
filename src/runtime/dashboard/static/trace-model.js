// Traces as GET /traces and /traces/<id> answer them, whatever their exact envelope:
// spans (SpanRecord: traceId, spanId, parentSpanId, name, kind, service, unit, startMs,
// durationMs, status, code, requestId) grouped by trace, or trace summaries.

/** Spans of one trace from `/traces/<id>`: an array, `{ spans }` or `{ trace: { spans } }`. */
export function spansOfTrace(answer) {
  if (Array.isArray(answer)) return answer
  return answer?.spans ?? answer?.trace?.spans ?? []
}

/** One summary per trace: `{ traceId, name, services, startMs, durationMs, status, requestId, spanCount }`. */
export function summaries(answer) {
  const list = Array.isArray(answer) ? answer : (answer?.traces ?? answer?.items ?? [])
  const bySpans = new Map()
  const out = []
  for (const item of list) {
    if (Array.isArray(item.spans)) out.push(summarize(item.traceId, item.spans, item))
    else if (item.spanId) bySpans.set(item.traceId, [...(bySpans.get(item.traceId) ?? []), item])
    else out.push(normalized(item))
  }
  for (const [id, spans] of bySpans) out.push(summarize(id, spans, {}))
  return out
}

function normalized(t) {
  return {
    traceId: t.traceId ?? t.id,
    name: t.name ?? t.root ?? t.rootName ?? '-',
    services: t.services ?? [],
    startMs: t.startMs ?? t.start ?? 0,
    durationMs: t.durationMs ?? t.duration ?? 0,
    status: t.status ?? (t.errors > 0 ? 'error' : 'ok'),
    requestId: t.requestId,
    spanCount: t.spanCount ?? t.spans ?? undefined,
  }
}

function summarize(traceId, spans, extra) {
  const ids = new Set(spans.map((s) => s.spanId))
  const sorted = [...spans].sort((a, b) => a.startMs - b.startMs)
  const root = sorted.find((s) => !s.parentSpanId || !ids.has(s.parentSpanId)) ?? sorted[0]
  const start = sorted[0]?.startMs ?? 0
  const end = Math.max(...spans.map((s) => s.startMs + s.durationMs), start)
  return {
    ...normalized(extra),
    traceId,
    name: root?.name ?? '-',
    services: [...new Set(spans.map((s) => s.service))],
    startMs: start,
    durationMs: end - start,
    status: spans.some((s) => s.status === 'error') ? 'error' : 'ok',
    requestId: spans.find((s) => s.requestId)?.requestId,
    spanCount: spans.length,
  }
}

/** Spans in tree order (each after its parent, siblings by start), with their depth. */
export function treeOrder(spans) {
  const ids = new Set(spans.map((s) => s.spanId))
  const children = new Map()
  const roots = []
  for (const s of [...spans].sort((a, b) => a.startMs - b.startMs)) {
    if (s.parentSpanId && ids.has(s.parentSpanId))
      children.set(s.parentSpanId, [...(children.get(s.parentSpanId) ?? []), s])
    else roots.push(s)
  }
  const out = []
  const walk = (s, depth) => {
    out.push({ span: s, depth })
    for (const c of children.get(s.spanId) ?? []) walk(c, depth + 1)
  }
  for (const r of roots) walk(r, 0)
  return out
}
