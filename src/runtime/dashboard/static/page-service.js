// One unit: its instances (with Stop and Kill), the actions its services announce with
// their schemas and live metrics, and its recent warnings and errors from the logs.
import { getJson, Missing, withQuery } from './api.js'
import { empty, formatMs, formatPercent, formatRate, h, setText } from './dom.js'
import { instancesTable } from './instances.js'
import { linesOf, logItem } from './log-lines.js'

export const title = ([name]) => `Service ${name ?? ''}`

export function mount(main, _store, [name]) {
  const state = h('p', { class: 'unit-state' })
  const instances = instancesTable(`Instances of ${name}`)
  const actions = h('div', { class: 'actions-list' })
  const errors = h('ol', { class: 'logs', 'aria-label': `Recent warnings and errors of ${name}` })
  main.append(
    h('p', {}, h('a', { href: '#/topology' }, '← Topology')),
    h('h1', {}, name),
    state,
    h('h2', {}, 'Instances'),
    h('div', { class: 'scroll' }, instances.table),
    h('h2', {}, 'Actions'),
    actions,
    h('h2', {}, 'Recent warnings and errors'),
    errors,
  )
  let catalogShown
  let lastLogs = 0
  return {
    update(store) {
      const unit = store.status.units.find((u) => u.name === name)
      if (!unit) {
        setText(state, `${name} is not part of this system (any more).`)
        return
      }
      setText(
        state,
        `State ${unit.state} · ${unit.restarts} restart(s) · services: ${[...unit.services, ...unit.adapters].join(', ') || '-'}`,
      )
      instances.update(unit, store.catalog?.hosts)
      if (store.catalog && store.catalog !== catalogShown) {
        catalogShown = store.catalog
        renderActions(
          actions,
          store.catalog.services.filter((s) => s.unit === name),
        )
      }
      updateActionMetrics(actions, store.metrics)
      if (Date.now() - lastLogs > 3000) {
        lastLogs = Date.now()
        getJson(withQuery('/logs', { unit: name, level: 'warn', limit: 20 }))
          .then((answer) => {
            const lines = linesOf(answer)
            errors.replaceChildren(
              ...(lines.length
                ? lines.map(logItem)
                : [h('li', { class: 'empty' }, 'Nothing at warn or above.')]),
            )
          })
          .catch((e) => {
            errors.replaceChildren(
              h(
                'li',
                { class: 'empty' },
                e instanceof Missing
                  ? 'No logs endpoint on this runtime yet.'
                  : `Logs unavailable: ${e.message}`,
              ),
            )
          })
      }
    },
  }
}

function renderActions(root, services) {
  if (services.length === 0)
    return root.replaceChildren(empty('No service announced yet (an adapter unit, or not started).'))
  root.replaceChildren(
    ...services.map((s) =>
      h(
        'section',
        { class: 'service' },
        h('h3', {}, `${s.name} `, h('small', {}, s.versions.join(', '))),
        Object.keys(s.subscriptions).length
          ? h(
              'p',
              {},
              'Listens to: ',
              Object.entries(s.subscriptions)
                .map(([e, mode]) => `${e} (${mode})`)
                .join(', '),
            )
          : '',
        h(
          'table',
          { 'aria-label': `Actions of ${s.name}` },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ...['Action', 'HTTP', 'Idempotent', 'Rate', 'Errors', 'p99', 'Schemas'].map((c) =>
                h('th', { scope: 'col' }, c),
              ),
            ),
          ),
          h(
            'tbody',
            {},
            ...Object.entries(s.actions).map(([action, info]) =>
              h(
                'tr',
                { 'data-action': `${s.name}.${action}` },
                h(
                  'th',
                  { scope: 'row' },
                  action,
                  info.description ? h('div', { class: 'hint' }, info.description) : '',
                ),
                h('td', {}, info.http ? `${info.http.method} ${info.http.path}` : '-'),
                h('td', {}, info.idempotent ? 'yes' : 'no'),
                h('td', { class: 'm-rate' }, '-'),
                h('td', { class: 'm-err' }, '-'),
                h('td', { class: 'm-p99' }, '-'),
                h(
                  'td',
                  {},
                  h(
                    'details',
                    {},
                    h('summary', {}, 'input / output'),
                    h('h4', {}, 'Input'),
                    h('pre', {}, JSON.stringify(info.input ?? null, null, 2)),
                    h('h4', {}, 'Output'),
                    h('pre', {}, JSON.stringify(info.output ?? null, null, 2)),
                  ),
                ),
              ),
            ),
          ),
        ),
      ),
    ),
  )
}

function updateActionMetrics(root, metrics) {
  for (const tr of root.querySelectorAll('tr[data-action]')) {
    const m = metrics?.actions.get(tr.dataset.action)
    setText(tr.querySelector('.m-rate'), m ? formatRate(m.rate ?? 0) : '-')
    setText(tr.querySelector('.m-err'), m ? formatPercent(m.errorRate * 100) : '-')
    setText(tr.querySelector('.m-p99'), m ? formatMs(m.p99Ms) : '-')
  }
}
