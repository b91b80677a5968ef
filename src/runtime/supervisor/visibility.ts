import type { ReadonlyRegistry } from '../../registry/index.ts'

/**
 * Resolves once `registry` knows `nodeId` offering every one of `services`, or after
 * `timeoutMs` whatever happened: visibility is a courtesy that narrows the window in
 * which a caller knows no instance, not a condition for readiness.
 */
export function awaitVisible(
  registry: ReadonlyRegistry,
  nodeId: string,
  services: string[],
  timeoutMs: number,
): Promise<void> {
  const seen = () => {
    const node = registry.nodes().find((n) => n.nodeId === nodeId)
    return node !== undefined && services.every((s) => node.services.some((x) => x.name === s))
  }
  if (seen()) return Promise.resolve()
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      unsubscribe()
      resolve()
    }
    const timer = setTimeout(done, timeoutMs)
    const unsubscribe = registry.subscribe(() => {
      if (seen()) done()
    })
  })
}
