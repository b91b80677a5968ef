import type { ContractUse } from '../../contract/index.ts'
import type { ReadonlyRegistry } from '../../registry/index.ts'

/**
 * Who uses `services` now, for a contract diff to name: callers per action as the system's
 * metrics count them (`tessera_calls_total` by caller, since each caller started), and
 * subscribing services per event as the registry has them (what each node announces).
 * A caller outside any service counts as `(outside)`; the services themselves are left out.
 */
export function contractUse(
  services: readonly string[],
  metricsText: string,
  registry: ReadonlyRegistry,
): ContractUse {
  const own = new Set(services)
  const callers: Record<string, Set<string>> = {}
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith('tessera_calls_total{')) continue
    const labels = parseLabels(line.slice('tessera_calls_total{'.length, line.lastIndexOf('}')))
    const count = Number(line.slice(line.lastIndexOf('}') + 1))
    const { caller, service, action } = labels
    if (!caller || !service || !action || !own.has(service) || own.has(caller) || !(count > 0)) continue
    callers[action] ??= new Set()
    callers[action].add(caller)
  }
  const subscribers: Record<string, Set<string>> = {}
  for (const node of registry.nodes()) {
    for (const service of node.services) {
      if (own.has(service.name)) continue
      for (const event of Object.keys(service.subscriptions)) {
        subscribers[event] ??= new Set()
        subscribers[event].add(service.name)
      }
    }
  }
  const sorted = (m: Record<string, Set<string>>) =>
    Object.fromEntries(Object.entries(m).map(([k, v]) => [k, [...v].sort()]))
  return { callers: sorted(callers), subscribers: sorted(subscribers) }
}

/** `a="x",b="y\"z"` → { a: 'x', b: 'y"z' } (Prometheus text-format label values). */
function parseLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    out[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c))
  }
  return out
}
