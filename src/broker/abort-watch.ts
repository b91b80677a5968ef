/** What waits on a caller's AbortSignal: told once, when the signal aborts. */
export interface Abortable {
  onAbort(): void
}

const WATCH = Symbol('tessera.abortWatch')
type WatchedSignal = AbortSignal & { [WATCH]?: AbortWatch }

/**
 * The calls waiting on one signal, behind the signal's only listener. A gateway hands
 * every call of an HTTP connection that connection's signal, so one listener per signal
 * replaces an `addEventListener` and a `removeEventListener` per call (Node's are slow:
 * argument checks, a listener record, the signal's own bookkeeping hooks). The first
 * waiter is a field, more go to a Set, so a signal made for one call costs no Set.
 */
class AbortWatch {
  first: Abortable | undefined
  more: Set<Abortable> | undefined

  /** The signal aborted: every waiter is told once, in no particular order. */
  handleEvent(): void {
    const waiters: Abortable[] = []
    if (this.first !== undefined) waiters.push(this.first)
    if (this.more !== undefined) for (const w of this.more) waiters.push(w)
    this.first = undefined
    this.more = undefined
    // Copied first: a waiter told stops watching, which edits the set being read.
    for (const w of waiters) w.onAbort()
  }
}

/**
 * Tells `target.onAbort()` once when `signal` aborts, unless `unwatchAbort` came first.
 * A signal that has already aborted never fires again: callers check `signal.aborted`
 * before watching. The listener stays on the signal (empty when no call waits), so it is
 * garbage with the signal.
 */
export function watchAbort(signal: AbortSignal, target: Abortable): void {
  let watch = (signal as WatchedSignal)[WATCH]
  if (watch === undefined) {
    watch = new AbortWatch()
    ;(signal as WatchedSignal)[WATCH] = watch
    signal.addEventListener('abort', watch, { once: true })
  }
  if (watch.first === undefined) {
    watch.first = target
    return
  }
  watch.more ??= new Set()
  watch.more.add(target)
}

/** Stops telling `target` about `signal`; a no-op when it is not watching. */
export function unwatchAbort(signal: AbortSignal, target: Abortable): void {
  const watch = (signal as WatchedSignal)[WATCH]
  if (watch === undefined) return
  if (watch.first === target) watch.first = undefined
  else watch.more?.delete(target)
}
