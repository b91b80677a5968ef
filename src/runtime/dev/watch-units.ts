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
 * `tessera dev`: watches the folder of every service entry, and the folder of every
 * other source file in a unit's build (a shared library, outside `node_modules`), and on
 * a change deploys only the unit(s) that own it: the unit whose entry file changed, else
 * every unit whose build holds the file, else every unit whose entry folder holds it.
 * Other units keep serving. Changes during a rollout queue one more rollout. Returns a
 * function that stops watching.
 */
export function watchUnits(supervisor: Supervisor, options: WatchOptions = {}): () => void {
  const debounceMs = options.debounceMs ?? 300
  const watchers: FSWatcher[] = []
  const timers = new Map<string, NodeJS.Timeout>()
  const running = new Map<string, Promise<void>>()
  const queued = new Set<string>()
  const units = supervisor.status().units.map((u) => supervisor.unit(u.name).spec)
  const folders = new Set(units.flatMap((u) => u.services.map((s) => dirname(s.entry))))
  const inputs = (unit: string): string[] => {
    try {
      return supervisor.unit(unit).build?.inputs ?? []
    } catch {
      return [] // removed meanwhile
    }
  }

  const owners = (file: string): string[] => {
    const exact = units.filter((u) => u.services.some((s) => s.entry === file))
    if (exact.length > 0) return exact.map((u) => u.name)
    const users = units.filter((u) => inputs(u.name).includes(file))
    if (users.length > 0) return users.map((u) => u.name)
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
        if (stopped) return
        watchInputs(unit) // the new build may use files in new folders
        if (queued.delete(unit)) roll(unit)
      })
    running.set(unit, run)
  }
  const changed = (file: string): void => {
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
  }
  const watched = new Set<string>()
  const watchFolder = (folder: string, recursive: boolean): void => {
    if (watched.has(folder)) return
    watched.add(folder)
    try {
      const watcher = watch(folder, { recursive }, (_event, name) => {
        if (typeof name !== 'string' || name.includes('node_modules')) return
        changed(join(folder, name))
      })
      watcher.on('error', () => {}) // a folder removed meanwhile: nothing left to watch
      watchers.push(watcher)
    } catch {
      // Gone since the build: nothing to watch.
    }
  }
  const watchInputs = (unit: string): void => {
    for (const file of inputs(unit)) {
      const folder = dirname(file)
      if (
        file.includes('/node_modules/') ||
        [...folders].some((f) => folder === f || folder.startsWith(`${f}/`))
      )
        continue
      watchFolder(folder, false)
    }
  }
  let stopped = false
  for (const folder of folders) watchFolder(folder, true)
  for (const unit of units) watchInputs(unit.name)
  return () => {
    stopped = true
    for (const w of watchers) w.close()
    for (const t of timers.values()) clearTimeout(t)
  }
}
