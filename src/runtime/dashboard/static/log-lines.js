// Log lines as GET /logs answers them (JSON objects, pino's fields), rendered one per row.
import { h } from './dom.js'

const LEVELS = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' }

/** The records `GET /logs` answers (`{ records }`, oldest first). */
export function linesOf(answer) {
  return Array.isArray(answer) ? answer : (answer?.records ?? [])
}

export const levelName = (l) => (typeof l === 'number' ? (LEVELS[l] ?? String(l)) : String(l ?? '-'))

/** One `<li>`: time, level, where from, message, request id (a link to its traces). */
export function logItem(line) {
  const obj = typeof line === 'string' ? { msg: line } : line
  const time = obj.time ? new Date(obj.time).toLocaleTimeString() : ''
  const level = levelName(obj.level)
  const where = obj.instance ?? obj.label ?? obj.unit ?? obj.service ?? ''
  const request = obj.requestId ?? obj.reqId
  return h(
    'li',
    { class: `log ${level}` },
    h('time', {}, time),
    ' ',
    h('span', { class: 'level' }, level),
    ' ',
    h('span', { class: 'where' }, where),
    ' ',
    h('span', { class: 'msg' }, String(obj.msg ?? obj.message ?? JSON.stringify(obj))),
    request
      ? h(
          'a',
          { class: 'request', href: `#/traces/?requestId=${encodeURIComponent(request)}` },
          ` ${request}`,
        )
      : '',
  )
}
