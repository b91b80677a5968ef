import type { ActionDefinition, AnyService } from '../../contract/index.ts'
import { TesseraError } from '../../errors/index.ts'
import { type AdapterDefinition, isAdapter } from '../adapter.ts'

/**
 * Picks the service definition from an entry's module: the named `export`, else the
 * default export, else the one export whose `name` is the service's. Throws NOT_FOUND
 * naming the entry when none fits, so a start failure says which file is wrong.
 */
export function pickService(
  spec: { name: string; entry: string; export?: string },
  mod: Record<string, unknown>,
): AnyService {
  const found = pickEntry(spec, mod)
  if (isAdapter(found))
    throw new TesseraError('CONFLICT', `${spec.entry} exports an adapter, not a service, for ${spec.name}`)
  return found
}

/**
 * Like `pickService`, but an adapter (`defineAdapter`) is as good as a service. The name
 * must match the config's either way.
 */
export function pickEntry(
  spec: { name: string; entry: string; export?: string },
  mod: Record<string, unknown>,
): AnyService | AdapterDefinition {
  const fits = (v: unknown): v is AnyService | AdapterDefinition => isService(v) || isAdapter(v)
  const candidates = spec.export
    ? [mod[spec.export]]
    : [mod.default, ...Object.values(mod).filter((v) => fits(v) && v.name === spec.name)]
  const found = candidates.find(fits)
  if (!found)
    throw new TesseraError(
      'NOT_FOUND',
      `${spec.entry} exports no service or adapter definition${spec.export ? ` named ${spec.export}` : ''} for ${spec.name}`,
    )
  if (found.name !== spec.name)
    throw new TesseraError(
      'CONFLICT',
      `${spec.entry} defines ${isAdapter(found) ? 'adapter' : 'service'} "${found.name}", config says "${spec.name}"`,
    )
  return found
}

function isService(value: unknown): value is AnyService {
  return (
    !isAdapter(value) &&
    typeof value === 'object' &&
    value !== null &&
    typeof (value as AnyService).name === 'string' &&
    typeof (value as AnyService).actions === 'object'
  )
}

/** Wraps every action handler to count calls (for req/s); the definition is not mutated. */
export function counted(service: AnyService, count: () => void): AnyService {
  const actions = Object.fromEntries(
    Object.entries(service.actions as Record<string, ActionDefinition>).map(([name, def]) => [
      name,
      {
        ...def,
        handler: (input: unknown, ctx: unknown) => {
          count()
          return def.handler(input, ctx as never)
        },
      },
    ]),
  )
  return { ...service, actions }
}
