// Operations started from any page: confirm, then run with each NDJSON progress line
// shown live in the activity log (an ARIA live region) at the foot of every page.
import { runOperation } from './api.js'
import { confirmDialog } from './dialog.js'
import { h } from './dom.js'

/**
 * Asks to confirm `question`, then runs `op` with `body`, logging its progress. Resolves
 * true when the operation finished, false when declined or failed.
 */
export async function operate(op, body, question) {
  if (!(await confirmDialog(question))) return false
  const list = document.getElementById('activity-log')
  const entry = h('li', { class: 'running' }, h('strong', {}, question.title))
  const lines = h('ul', { class: 'lines' })
  entry.append(lines)
  list.prepend(entry)
  while (list.children.length > 20) list.lastElementChild.remove()
  const add = (text, cls) => lines.append(h('li', cls ? { class: cls } : {}, text))
  try {
    await runOperation(op, body, (line) => add(line))
    add('done', 'ok')
    entry.className = 'ok'
    return true
  } catch (err) {
    add(String(err.message ?? err), 'error')
    entry.className = 'error'
    return false
  }
}
