import { type Dirent, type FSWatcher, readdirSync, statSync, watch } from 'node:fs'
import { dirname, join } from 'node:path'
import type { Supervisor } from '../supervisor/index.ts'

export interface WatchOptions {
  /** Changes closer together than this roll a unit once. Default 300 ms. */
  debounceMs?: number
  /** A unit's code changed and is about to be rolled out. */
  onChange?: (unit: string, file: string) => void
  /** A rollout finished (`error` undefined) or was rolled back. */
  onRolled?: (unit: string, error: Error | undefined) => void
  /** Something that makes dev less than it should be (a folder polled, not watched). */
  onWarning?: (message: string) => void
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
  const pollers: NodeJS.Timeout[] = []
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
    // Forced: while developing, a caller and its callee often change together; the
    // contract diff still shows in the deploy's progress (docs/runtime.md, contract checks).
    const run = supervisor
      .deploy(unit, undefined, { force: true })
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
  // One native (inotify) watcher per folder, set up synchronously, so a change made the
  // moment `watchUnits` returns is seen. Where the system refuses a watcher (inotify
  // instances or watches used up: EMFILE, ENOSPC), the folder is polled instead and
  // `onWarning` says so, rather than dev silently missing every change.
  const watched = new Set<string>()
  const watchFolder = (folder: string, recursive: boolean): void => {
    if (watched.has(folder)) return
    watched.add(folder)
    try {
      const watcher = watch(folder, (_event, name) => {
        if (typeof name !== 'string' || name === 'node_modules') return
        const file = join(folder, name)
        if (recursive && isFolder(file)) watchFolder(file, true) // a new subfolder
        changed(file)
      })
      watcher.on('error', () => {}) // a folder removed meanwhile: nothing left to watch
      watchers.push(watcher)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return // gone since the build
      if (pollers.length === 0)
        options.onWarning?.(
          `cannot watch ${folder} (${(err as Error).message}); polling it and any other such folder every second`,
        )
      pollers.push(pollFolder(folder, changed))
    }
    if (!recursive) return
    for (const entry of entries(folder)) {
      if (entry.isDirectory() && entry.name !== 'node_modules' && !entry.name.startsWith('.'))
        watchFolder(join(folder, entry.name), true)
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
    for (const p of pollers) clearInterval(p)
    for (const t of timers.values()) clearTimeout(t)
  }
}

function entries(folder: string): Dirent[] {
  try {
    return readdirSync(folder, { withFileTypes: true })
  } catch {
    return []
  }
}

/** Stats the files of `folder` every second; calls `changed` for each one whose mtime or size moved. */
function pollFolder(folder: string, changed: (file: string) => void): NodeJS.Timeout {
  const seen = new Map<string, string>()
  const scan = (report: boolean): void => {
    for (const entry of entries(folder)) {
      if (!entry.isFile()) continue
      const file = join(folder, entry.name)
      let mark: string
      try {
        const s = statSync(file)
        mark = `${s.mtimeMs}:${s.size}`
      } catch {
        continue
      }
      if (report && seen.get(file) !== mark) changed(file)
      seen.set(file, mark)
    }
  }
  scan(false)
  const timer = setInterval(() => scan(true), 1000)
  timer.unref()
  return timer
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory()
  } catch {
    return false
  }
}
