// Operate: scale, restart and deploy each unit, stop or kill one instance; every action
// asks first and shows its progress live under "Operations".
import { operate } from './activity.js'
import { h, keyedRows, setText } from './dom.js'
import { instancesTable } from './instances.js'

export const title = () => 'Operate'

export function mount(main) {
  const tbody = h('tbody')
  const perUnit = h('div', { class: 'per-unit' })
  const tables = new Map()
  main.append(
    h('h1', {}, 'Operate'),
    h(
      'div',
      { class: 'scroll' },
      h(
        'table',
        { 'aria-label': 'Units' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ...['Unit', 'State', 'Instances', 'Scale to', 'Roll'].map((c) => h('th', { scope: 'col' }, c)),
          ),
        ),
        tbody,
      ),
    ),
    h('h2', {}, 'Instances'),
    perUnit,
  )
  return {
    update(store) {
      keyedRows(
        tbody,
        store.status.units,
        (u) => u.name,
        makeUnitRow,
        (tr, u) => {
          const [, state, count] = tr.children
          setText(state, u.state)
          setText(
            count,
            `${u.instances.filter((i) => i.state === 'ready').length}/${u.instances.length} ready`,
          )
          const input = tr.querySelector('input')
          if (document.activeElement !== input && input.dataset.touched !== 'yes')
            input.value = String(u.instances.length)
        },
      )
      for (const u of store.status.units) {
        let t = tables.get(u.name)
        if (!t) {
          t = instancesTable(`Instances of ${u.name}`)
          tables.set(u.name, t)
          perUnit.append(h('section', {}, h('h3', {}, u.name), h('div', { class: 'scroll' }, t.table)))
        }
        t.update(u, store.catalog?.hosts)
      }
    },
  }
}

function makeUnitRow(u) {
  const name = u.name
  const input = h('input', {
    type: 'number',
    min: 0,
    max: 64,
    value: u.instances.length,
    'aria-label': `Instance count of ${name}`,
    oninput: () => (input.dataset.touched = 'yes'),
  })
  const scale = async () => {
    const n = Number(input.value)
    if (!Number.isInteger(n) || n < 0) return input.focus()
    await operate(
      'scale',
      { unit: name, instances: n },
      {
        title: `Scale ${name} to ${n}?`,
        message: `${name} gets ${n} instance(s): new ones serve before they count, removed ones drain.`,
        confirmLabel: 'Scale',
      },
    )
    input.dataset.touched = ''
  }
  const roll = (op, what) => () =>
    void operate(
      op,
      { unit: name },
      {
        title: `${what} ${name}?`,
        message:
          op === 'deploy'
            ? `${name} is built from the code on disk; new instances start, and the old drain only once all new ones serve (else it rolls back).`
            : `Each instance of ${name} is replaced in turn: the replacement serves before the old one drains.`,
        confirmLabel: what,
      },
    )
  return h(
    'tr',
    {},
    h('th', { scope: 'row' }, h('a', { href: `#/service/${encodeURIComponent(name)}` }, name)),
    h('td'),
    h('td'),
    h(
      'td',
      { class: 'row-actions' },
      input,
      h('button', { type: 'button', onclick: () => void scale(), 'aria-label': `Scale ${name}` }, 'Scale'),
    ),
    h(
      'td',
      { class: 'row-actions' },
      h(
        'button',
        { type: 'button', onclick: roll('restart', 'Restart'), 'aria-label': `Restart ${name}` },
        'Restart',
      ),
      h(
        'button',
        { type: 'button', onclick: roll('deploy', 'Deploy'), 'aria-label': `Deploy ${name}` },
        'Deploy',
      ),
    ),
  )
}
