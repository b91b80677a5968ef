// Events: the dead letters of durable events (key, event, service, deliveries, last error,
// age) with Replay and Discard behind a confirmation, and the instances that joined without
// a deploy with a breaking contract. Fetched on opening, every 5 s, and after each operation.
import { operate } from './activity.js'
import { runOperation } from './api.js'
import { empty, h, keyedRows, setText } from './dom.js'

export const title = () => 'Events'

const REFRESH_MS = 5000

export function mount(main) {
  const status = h('p', { class: 'empty', role: 'status' })
  const tbody = h('tbody')
  const table = h(
    'table',
    { 'aria-label': 'Dead letters' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...['Key', 'Event', 'Service', 'Deliveries', 'Error', 'Age', ''].map((c) =>
          h('th', { scope: 'col' }, c),
        ),
      ),
    ),
    tbody,
  )
  const contracts = h('div')
  main.append(
    h('h1', {}, 'Events'),
    h('h2', {}, 'Dead letters'),
    h('p', {}, 'Durable events a service failed every delivery of. A replay goes to that service only.'),
    status,
    h('div', { class: 'scroll' }, table),
    h('h2', {}, 'Instances that joined with a breaking contract'),
    contracts,
  )
  let stopped = false
  let timer
  async function load() {
    clearTimeout(timer)
    try {
      const dead = await runOperation('dead', {}, () => {})
      setText(status, dead.length ? `${dead.length} dead letter(s)` : 'No dead letters.')
      table.hidden = dead.length === 0
      keyedRows(tbody, dead, (d) => d.key, makeRow, fillRow)
    } catch (err) {
      // A transport without durable events answers BAD_REQUEST saying so: shown as it is.
      setText(status, String(err.message ?? err))
      table.hidden = true
    }
    try {
      const seen = await runOperation('contracts', {}, () => {})
      contracts.replaceChildren(...(seen.length === 0 ? [empty('None.')] : seen.map((m) => contractItem(m))))
    } catch (err) {
      contracts.replaceChildren(empty(String(err.message ?? err)))
    }
    if (!stopped) timer = setTimeout(() => void load(), REFRESH_MS)
  }
  const act = (op, d, question) => async () => {
    if (await operate(op, { keys: [d.key] }, question)) void load()
  }
  function makeRow(d) {
    return h(
      'tr',
      {},
      h('th', { scope: 'row' }, h('code', {}, d.key)),
      h('td'),
      h('td'),
      h('td'),
      h('td'),
      h('td'),
      h(
        'td',
        { class: 'row-actions' },
        h(
          'button',
          {
            type: 'button',
            'aria-label': `Replay ${d.key}`,
            onclick: act('replay', d, {
              title: `Replay ${d.key}?`,
              message: `${d.envelope.event} is delivered again to ${d.service} only, with a fresh delivery count, and leaves the dead letters.`,
              confirmLabel: 'Replay',
            }),
          },
          'Replay',
        ),
        h(
          'button',
          {
            type: 'button',
            'aria-label': `Discard ${d.key}`,
            onclick: act('discard', d, {
              title: `Discard ${d.key}?`,
              message: `${d.envelope.event} is removed without being delivered: ${d.service} never handles it.`,
              confirmLabel: 'Discard',
              danger: true,
            }),
          },
          'Discard',
        ),
      ),
    )
  }
  function fillRow(tr, d) {
    const [, event, service, deliveries, error, age] = tr.children
    setText(event, d.envelope.event)
    setText(service, d.service)
    setText(deliveries, d.deliveries)
    setText(error, d.error)
    setText(age, formatAge(Date.now() - d.at))
  }
  void load()
  return {
    update() {},
    unmount() {
      stopped = true
      clearTimeout(timer)
    },
  }
}

function contractItem(m) {
  const who = m.own ? 'its own instance' : 'not started by this runtime'
  return h(
    'section',
    {},
    h('h3', {}, `${m.node}: ${m.service} ${m.version} breaks ${m.runningVersion} (${who})`),
    h('pre', {}, m.text),
  )
}

function formatAge(ms) {
  const s = Math.max(0, Math.floor(ms / 1000))
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min`
  if (s < 86400) return `${Math.floor(s / 3600)} h`
  return `${Math.floor(s / 86400)} d`
}
