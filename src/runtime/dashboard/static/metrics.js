// Reads the system's Prometheus text (GET /metrics) into the numbers the pages show:
// rates, error rates and p99 latencies from the difference between two scrapes.

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g

/** Samples of the exposition text: `{ name, labels, value }`, comments skipped. */
export function parsePrometheus(text) {
  const samples = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = SAMPLE.exec(line)
    if (!m) continue
    const labels = {}
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]] = l[2].replace(/\\(.)/g, '$1')
    samples.push({ name: m[1], labels, value: Number(m[3]) })
  }
  return samples
}

/** Sums `name`'s samples grouped by `keyOf(labels)` (undefined skips the sample). */
function sumBy(samples, name, keyOf) {
  const sums = new Map()
  for (const s of samples) {
    if (s.name !== name) continue
    const k = keyOf(s.labels)
    if (k !== undefined) sums.set(k, (sums.get(k) ?? 0) + s.value)
  }
  return sums
}

/** The 99th percentile (ms) from cumulative histogram bucket counts `{ le → count }`. */
function p99(buckets) {
  const sorted = [...buckets]
    .map(([le, n]) => [le === '+Inf' ? Infinity : Number(le), n])
    .sort((a, b) => a[0] - b[0])
  const total = sorted.at(-1)?.[1] ?? 0
  if (total <= 0) return undefined
  const found = sorted.find(([, n]) => n >= total * 0.99)
  if (!found) return undefined
  if (found[0] === Infinity) return (sorted.at(-2)?.[0] ?? 0) * 1000 // above the last bound
  return found[0] * 1000
}

function histogramP99(prev, cur, name, keyOf) {
  const per = new Map()
  const collect = (samples, sign) => {
    for (const s of samples) {
      if (s.name !== `${name}_bucket`) continue
      const k = keyOf(s.labels)
      if (k === undefined) continue
      const b = per.get(k) ?? new Map()
      b.set(s.labels.le, (b.get(s.labels.le) ?? 0) + sign * s.value)
      per.set(k, b)
    }
  }
  collect(cur, 1)
  if (prev) collect(prev, -1)
  const out = new Map()
  for (const [k, b] of per) out.set(k, p99(b))
  return out
}

/**
 * Per key, over the interval between two scrapes `seconds` apart (or since the start when
 * there is one scrape): `{ total, rate, errorRate, p99Ms }`.
 */
function stats(prev, cur, seconds, counter, histogram, keyOf) {
  const now = sumBy(cur, counter, keyOf)
  const before = prev ? sumBy(prev, counter, keyOf) : new Map()
  const errNow = sumBy(cur, counter, (l) => (l.code && l.code !== 'OK' ? keyOf(l) : undefined))
  const errBefore = prev
    ? sumBy(prev, counter, (l) => (l.code && l.code !== 'OK' ? keyOf(l) : undefined))
    : new Map()
  const latency = histogramP99(prev, cur, histogram, keyOf)
  const out = new Map()
  for (const [k, total] of now) {
    const calls = Math.max(0, total - (before.get(k) ?? 0))
    const errors = Math.max(0, (errNow.get(k) ?? 0) - (errBefore.get(k) ?? 0))
    out.set(k, {
      total,
      rate: prev && seconds > 0 ? calls / seconds : undefined,
      errorRate: calls > 0 ? errors / calls : 0,
      p99Ms: latency.get(k),
    })
  }
  return out
}

/**
 * What the pages use from two scrapes: per caller→service edge (the caller's view),
 * per `service.action` (the callee's view), and the system's totals.
 */
export function summarize(prev, cur, seconds) {
  const edges = stats(prev, cur, seconds, 'tessera_calls_total', 'tessera_call_duration_seconds', (l) =>
    l.caller && l.service ? `${l.caller}>${l.service}` : undefined,
  )
  const actions = stats(
    prev,
    cur,
    seconds,
    'tessera_handled_total',
    'tessera_handle_duration_seconds',
    (l) => (l.service && l.action ? `${l.service}.${l.action}` : undefined),
  )
  const services = stats(
    prev,
    cur,
    seconds,
    'tessera_handled_total',
    'tessera_handle_duration_seconds',
    (l) => l.service,
  )
  let handled = 0
  for (const s of cur) if (s.name === 'tessera_handled_total') handled += s.value
  return { edges, actions, services, handled, series: cur.length }
}
