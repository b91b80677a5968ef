// A confirmation dialog: a modal <dialog> (the rest of the page is inert while it is
// open), Tab and Shift+Tab kept inside it, Escape or Cancel answers no, focus returns to
// the control that opened it.
import { h } from './dom.js'

/** Resolves true when the user confirms. `danger` styles the confirm button as destructive. */
export function confirmDialog({ title, message, confirmLabel = 'Confirm', danger = false }) {
  const opener = document.activeElement
  return new Promise((resolve) => {
    const cancel = h('button', { type: 'button', onclick: () => done(false) }, 'Cancel')
    const ok = h(
      'button',
      { type: 'button', class: danger ? 'danger' : 'primary', onclick: () => done(true) },
      confirmLabel,
    )
    const heading = h('h2', { id: 'dialog-title' }, title)
    const dialog = h(
      'dialog',
      { 'aria-labelledby': 'dialog-title', 'aria-describedby': 'dialog-message', class: 'confirm' },
      heading,
      h('p', { id: 'dialog-message' }, message),
      h('div', { class: 'actions' }, cancel, ok),
    )
    const done = (answer) => {
      dialog.close()
      dialog.remove()
      if (opener instanceof HTMLElement && opener.isConnected) opener.focus()
      resolve(answer)
    }
    dialog.addEventListener('cancel', (e) => {
      e.preventDefault()
      done(false)
    })
    dialog.addEventListener('keydown', (e) => {
      if (e.key !== 'Tab') return
      const focusable = [cancel, ok]
      const at = focusable.indexOf(document.activeElement)
      const next = e.shiftKey ? (at <= 0 ? focusable.length - 1 : at - 1) : (at + 1) % focusable.length
      e.preventDefault()
      focusable[next].focus()
    })
    document.body.append(dialog)
    dialog.showModal()
    cancel.focus() // the safe answer first
  })
}
