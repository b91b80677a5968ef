import type { Clock } from '../context/index.ts'
import type { ReadonlyRegistry } from '../registry/index.ts'

/**
 * Resolves true as soon as `ready()` holds for the registry (at once if it already
 * does), or false after `ms` or when `signal` aborts. Listens to registry changes, so
 * nothing polls.
 */
export function whenRegistry(
  registry: ReadonlyRegistry,
  clock: Clock,
  ready: () => boolean,
  ms: number,
  signal?: AbortSignal,
): Promise<boolean> {
  if (ready()) return Promise.resolve(true)
  if (ms <= 0 || signal?.aborted) return Promise.resolve(false)
  return new Promise((resolve) => {
    const done = (found: boolean) => {
      unsubscribe()
      clock.clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      resolve(found)
    }
    const onAbort = () => done(false)
    const timer = clock.setTimeout(() => done(false), ms)
    const unsubscribe = registry.subscribe(() => {
      if (ready()) done(true)
    })
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
