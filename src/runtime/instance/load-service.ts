import type { ActionDefinition, AnyService } from '../../contract/index.ts'
import { TesseraError } from '../../errors/index.ts'

/**
 * Picks the service definition from an entry's module: the named `export`, else the
 * default export, else the one export whose `name` is the service's. Throws NOT_FOUND
 * naming the entry when none fits, so a start failure says which file is wrong.
 */
export function pickService(
  spec: { name: string; entry: string; export?: string },
  mod: Record<string, unknown>,
): AnyService {
  const candidates = spec.export
    ? [mod[spec.export]]
    : [mod.default, ...Object.values(mod).filter((v) => isService(v) && v.name === spec.name)]
  const found = candidates.find(isService)
  if (!found)
    throw new TesseraError(
      'NOT_FOUND',
      `${spec.entry} exports no service definition${spec.export ? ` named ${spec.export}` : ''} for ${spec.name}`,
    )
  if (found.name !== spec.name)
    throw new TesseraError(
      'CONFLICT',
      `${spec.entry} defines service "${found.name}", config says "${spec.name}"`,
    )
  return found
}

function isService(value: unknown): value is AnyService {
  return (
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
