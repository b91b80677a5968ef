import type { UnitBuild } from '../build/index.ts'
import type { LaunchedInstance } from '../launcher/index.ts'
import type { Progress } from './events.ts'

/** One place of a unit: `users#2` is slot 2 of `users`, whichever instance fills it now. */
export interface Slot {
  readonly index: number
  instance: LaunchedInstance | undefined
}

/** What a rollout needs of its unit runner; the runner keeps the bookkeeping. */
export interface RolloutHost {
  /** Starts a new instance for slot `index` running `build`, not yet the slot's. Throws when the unit is stopping. */
  spawn(index: number, build: UnitBuild | undefined): LaunchedInstance
  /** Resolves once `inst` serves (ready, and callers see it); rejects if it exits or is not ready in time. */
  serving(inst: LaunchedInstance): Promise<void>
  /** Makes `inst` the slot's instance: from now on its unplanned exit is a crash of the unit. */
  install(slot: Slot, inst: LaunchedInstance): void
  /** Drains `inst`; resolves at once for none or an exited one. */
  retire(inst: LaunchedInstance | undefined): Promise<void>
  /** Cancels a crash restart the slot is waiting for (the rollout fills the slot itself). */
  cancelRestart(slot: Slot): void
  /** After a failed replacement of a slot whose instance is gone: refills it with the current build, if the unit can. */
  refill(slot: Slot): void
}

/**
 * Restart (the same code, decision 0005): slot by slot, a replacement starts and must
 * serve before the slot's instance drains, so a one-instance unit never has none.
 * Rejects with the reason at the first replacement that does not serve; that slot
 * keeps its instance (refilled if it had crashed), later slots are untouched.
 */
export async function rollSlots(
  host: RolloutHost,
  slots: Slot[],
  build: UnitBuild | undefined,
  progress: Progress,
): Promise<void> {
  for (const slot of slots) {
    host.cancelRestart(slot)
    const fresh = host.spawn(slot.index, build)
    progress(`${fresh.label}: starting replacement (pid ${fresh.pid ?? '?'})`)
    try {
      await host.serving(fresh)
    } catch (err) {
      await host.retire(fresh)
      if (!slot.instance || slot.instance.state.type === 'exited') host.refill(slot)
      throw err
    }
    // Whatever fills the slot now: the instance it had, or one a crash restart put there meanwhile.
    const old = slot.instance
    host.install(slot, fresh)
    if (old) {
      progress(`${old.label}: draining old instance (pid ${old.pid ?? '?'})`)
      await host.retire(old)
    }
  }
}

/**
 * Deploy (new code, decision 0005): one new instance per slot starts beside the old ones;
 * only once every one serves are they installed (`commit` runs just before) and the old
 * ones drained. If any new one fails, all new ones drain, the old never noticed, and the
 * reason is returned (rolled back); undefined when deployed.
 */
export async function surge(
  host: RolloutHost,
  slots: Slot[],
  build: UnitBuild | undefined,
  progress: Progress,
  commit: () => void,
): Promise<{ rolledBack: string } | undefined> {
  const fresh = slots.map((s) => host.spawn(s.index, build))
  progress(`starting ${fresh.length} new instance(s)`)
  const results = await Promise.allSettled(fresh.map((f) => host.serving(f)))
  const failure = results.find((r) => r.status === 'rejected')
  if (failure) {
    const reason = String((failure.reason as Error)?.message ?? failure.reason)
    progress(`new version not ready (${reason}): rolling back`)
    await Promise.all(fresh.map((f) => host.retire(f)))
    return { rolledBack: reason }
  }
  commit()
  const old = slots.map((s, i) => {
    const previous = s.instance
    host.cancelRestart(s)
    host.install(s, fresh[i]!)
    return previous
  })
  progress(`new version serving; draining ${old.filter(Boolean).length} old instance(s)`)
  await Promise.all(old.map((o) => host.retire(o)))
  return undefined
}
