// The instances table of a unit (service and operate pages): state, pid, host, version,
// memory, CPU, req/s, uptime, with Stop and Kill buttons that survive each poll.
import { operate } from './activity.js'
import { formatBytes, formatPercent, formatUptime, h, keyedRows, setText } from './dom.js'

const COLUMNS = ['Instance', 'State', 'PID', 'Host', 'Version', 'Memory', 'CPU', 'Req/s', 'Up', 'Actions']

export function instancesTable(label) {
  const tbody = h('tbody')
  const table = h(
    'table',
    { 'aria-label': label, class: 'instances' },
    h('thead', {}, h('tr', {}, ...COLUMNS.map((c) => h('th', { scope: 'col' }, c)))),
    tbody,
  )
  return {
    table,
    /** `hosts`: nodeId → host name, from what nodes announce (catalog.nodes). */
    update(unit, hosts = {}) {
      keyedRows(
        tbody,
        unit.instances,
        (i) => i.label,
        (i) => {
          const stop = (kill) =>
            operate(
              'stop-instance',
              { instance: i.label, kill },
              {
                title: `${kill ? 'Kill' : 'Stop'} ${i.label}?`,
                message: kill
                  ? `${i.label} gets SIGKILL at once: calls in flight on it fail (idempotent ones are retried elsewhere). The supervisor starts a replacement.`
                  : `${i.label} gets SIGTERM: it drains (answers what it has, takes nothing new) and exits. The supervisor starts a replacement.`,
                confirmLabel: kill ? 'Kill' : 'Stop',
                danger: true,
              },
            )
          return h(
            'tr',
            {},
            h('th', { scope: 'row' }, i.label),
            ...COLUMNS.slice(1, -1).map(() => h('td')),
            h(
              'td',
              { class: 'row-actions' },
              h(
                'button',
                { type: 'button', onclick: () => void stop(false), 'aria-label': `Stop ${i.label}` },
                'Stop',
              ),
              h(
                'button',
                {
                  type: 'button',
                  class: 'danger',
                  onclick: () => void stop(true),
                  'aria-label': `Kill ${i.label}`,
                },
                'Kill',
              ),
            ),
          )
        },
        (tr, i) => {
          const [, state, pid, host, version, mem, cpu, rps, up] = tr.children
          setText(state, i.state)
          state.className = `state ${i.state}`
          setText(pid, i.pid ?? '-')
          setText(host, hosts[i.nodeId] ?? '-')
          setText(version, i.versions.map((v) => v.version).join(', ') || '-')
          setText(mem, formatBytes(i.rssBytes))
          setText(cpu, formatPercent(i.cpuPercent))
          setText(rps, i.reqPerSec ?? '-')
          setText(up, formatUptime(i.uptimeMs))
          for (const b of tr.querySelectorAll('button'))
            b.disabled = !(i.state === 'ready' || i.state === 'starting')
        },
      )
    },
  }
}
