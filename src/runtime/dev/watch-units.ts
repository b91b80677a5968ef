import { type FSWatcher, watch } from 'node:fs'
import { dirname, join } from 'node:path'
import type { Supervisor } from '../supervisor/index.ts'

export interface WatchOptions {
  /** Changes closer together than this roll a unit once. Default 300 ms. */
  debounceMs?: number
  /** A unit's code changed and is about to be rolled out. */
  onChange?: (unit: string, file: string) => void
  /** A rollout finished (`error` undefined) or was rolled back. */
  onRolled?: (unit: string, error: Error | undefined) => void
}

/**
 * `tessera dev`: watches the folder of every service entry and, on a change, deploys
 * only the unit(s) that own it: the unit whose entry file changed, else every unit whose
 * entry folder holds the file. Other units keep serving. Changes during a rollout queue
 * one more rollout. Returns a function that stops watching.
 */
export function watchUnits(supervisor: Supervisor, options: WatchOptions = {}): () => void {
  const debounceMs = options.debounceMs ?? 300
  const watchers: FSWatcher[] = []
  const timers = new Map<string, NodeJS.Timeout>()
  const running = new Map<string, Promise<void>>()
  const queued = new Set<string>()
  const units = supervisor.status().units.map((u) => supervisor.unit(u.name).spec)
  const folders = new Set(units.flatMap((u) => u.services.map((s) => dirname(s.entry))))

  const owners = (file: string): string[] => {
    const exact = units.filter((u) => u.services.some((s) => s.entry === file))
    if (exact.length > 0) return exact.map((u) => u.name)
    return units
      .filter((u) => u.services.some((s) => file.startsWith(`${dirname(s.entry)}/`)))
      .map((u) => u.name)
  }
  const roll = (unit: string): void => {
    if (running.has(unit)) {
      queued.add(unit)
      return
    }
    const run = supervisor
      .deploy(unit)
      .then(
        () => options.onRolled?.(unit, undefined),
        (err: Error) => options.onRolled?.(unit, err),
      )
      .finally(() => {
        running.delete(unit)
        if (queued.delete(unit)) roll(unit)
      })
    running.set(unit, run)
  }
  for (const folder of folders) {
    const watcher = watch(folder, { recursive: true }, (_event, name) => {
      if (typeof name !== 'string' || name.includes('node_modules')) return
      const file = join(folder, name)
      for (const unit of owners(file)) {
        clearTimeout(timers.get(unit))
        timers.set(
          unit,
          setTimeout(() => {
            timers.delete(unit)
            options.onChange?.(unit, file)
            roll(unit)
          }, debounceMs),
        )
      }
    })
    watchers.push(watcher)
  }
  return () => {
    for (const w of watchers) w.close()
    for (const t of timers.values()) clearTimeout(t)
  }
}
