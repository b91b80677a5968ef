// Logs: the recent lines of the system, filtered by unit, level and request id, kept
// live (polled every 2 s) until paused.
import { getJson, Missing, withQuery } from './api.js'
import { h, setText } from './dom.js'
import { linesOf, logItem } from './log-lines.js'

export const title = () => 'Logs'

export function mount(main) {
  const field = (label, input) => h('label', {}, h('span', {}, label), input)
  const unit = h('select', { name: 'unit' }, h('option', { value: '' }, 'all'))
  const level = h(
    'select',
    { name: 'level' },
    ...['', 'debug', 'info', 'warn', 'error'].map((l) => h('option', { value: l }, l || 'any')),
  )
  const requestId = h('input', { name: 'requestId', type: 'search', spellcheck: 'false' })
  const live = h('input', { type: 'checkbox', name: 'live', checked: true })
  const form = h(
    'form',
    {
      class: 'filters',
      'aria-label': 'Filter logs',
      onsubmit: (e) => {
        e.preventDefault()
        void load()
      },
    },
    field('Unit', unit),
    field('Level at least', level),
    field('Request id', requestId),
    h('label', { class: 'check' }, live, h('span', {}, 'Live')),
    h('button', { type: 'submit' }, 'Apply'),
  )
  for (const el of [unit, level]) el.addEventListener('change', () => void load())
  const message = h('p', { class: 'empty', role: 'status' })
  const list = h('ol', { class: 'logs', 'aria-label': 'Log lines' })
  main.append(h('h1', {}, 'Logs'), form, message, list)
  let lastLoad = 0
  async function load() {
    lastLoad = Date.now()
    try {
      const answer = await getJson(
        withQuery('/logs', {
          unit: unit.value,
          level: level.value,
          requestId: requestId.value.trim(),
          limit: 200,
        }),
      )
      const lines = linesOf(answer)
      // Newest last, as a terminal shows them; keep the reader's place unless at the bottom.
      const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 4
      list.replaceChildren(...lines.map(logItem))
      if (atBottom) list.scrollTop = list.scrollHeight
      setText(message, lines.length ? `${lines.length} line(s)` : 'No lines match.')
    } catch (e) {
      setText(
        message,
        e instanceof Missing
          ? 'No logs endpoint on this runtime yet (tessera logs <service> reads the files).'
          : `Logs unavailable: ${e.message}`,
      )
    }
  }
  return {
    update(store) {
      const names = store.status.units.map((u) => u.name)
      if (unit.options.length !== names.length + 1) {
        const chosen = unit.value
        unit.replaceChildren(
          h('option', { value: '' }, 'all'),
          ...names.map((n) => h('option', { value: n, selected: n === chosen }, n)),
        )
      }
      if (live.checked && Date.now() - lastLoad > 2000) void load()
    },
  }
}
