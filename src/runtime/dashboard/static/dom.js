// Small DOM helpers shared by the pages: element building, keyed table rows that keep
// their nodes (so a focused button survives the next poll), and number formatting.

/** `h('a', { href: '#/x', class: 'y' }, 'text', child)`: attributes, then children (strings or nodes). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue
    if (name.startsWith('on')) el.addEventListener(name.slice(2), value)
    else el.setAttribute(name, value === true ? '' : String(value))
  }
  el.append(...children.flat().filter((c) => c !== undefined && c !== null && c !== false))
  return el
}

/** An SVG element (the topology). */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag)
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) el.setAttribute(name, String(value))
  }
  el.append(...children.filter(Boolean))
  return el
}

/** Sets text only when it changed, so screen readers and selections are not disturbed. */
export function setText(el, value) {
  const text = String(value)
  if (el.textContent !== text) el.textContent = text
}

/**
 * Renders `items` into `tbody`, one row per key: rows are made once by `make(item)` (which
 * returns a <tr> whose cells `fill(tr, item)` updates) and reused while their key lives.
 */
export function keyedRows(tbody, items, key, make, fill) {
  const existing = new Map([...tbody.children].map((tr) => [tr.dataset.key, tr]))
  let previous = null
  for (const item of items) {
    const k = String(key(item))
    let tr = existing.get(k)
    if (tr) existing.delete(k)
    else {
      tr = make(item)
      tr.dataset.key = k
    }
    fill(tr, item)
    const want = previous ? previous.nextSibling : tbody.firstChild
    if (want !== tr) tbody.insertBefore(tr, want)
    previous = tr
  }
  for (const tr of existing.values()) tr.remove()
}

export function formatBytes(n) {
  if (n === undefined || n === null) return '-'
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KiB`
  return `${(n / (1024 * 1024)).toFixed(0)} MiB`
}

export const formatPercent = (n) => (n === undefined || n === null ? '-' : `${Math.round(n * 10) / 10}%`)

export function formatMs(ms) {
  if (ms === undefined || ms === null || Number.isNaN(ms)) return '-'
  if (ms < 1) return `${ms.toFixed(2)} ms`
  if (ms < 1000) return `${Math.round(ms)} ms`
  return `${(ms / 1000).toFixed(1)} s`
}

export function formatRate(perSec) {
  if (perSec === undefined || perSec === null) return '-'
  return perSec >= 10 ? `${Math.round(perSec)}/s` : `${Math.round(perSec * 10) / 10}/s`
}

export function formatUptime(ms) {
  if (ms === undefined || ms === null) return '-'
  const s = Math.floor(ms / 1000)
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min`
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
}

/** A message in place of data that is not there (yet): "no traces yet". */
export const empty = (text) => h('p', { class: 'empty' }, text)
