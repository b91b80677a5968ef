import type { Principal } from 'tessera/context'
import type { Context } from 'tessera/contract'
import { TesseraError } from 'tessera/errors'

/**
 * The principal a call is made for; UNAUTHORIZED when there is none. The gateway sets it
 * from a verified token and every nested call carries it on, so a service deep in a call
 * chain still acts for the end user, never for the calling service.
 */
export function requirePrincipal(ctx: Pick<Context, 'principal'>): Principal {
  const principal = ctx.principal
  if (!principal) throw new TesseraError('UNAUTHORIZED', 'this action needs an authenticated caller')
  return principal
}

export function hasRole(principal: Principal, role: string): boolean {
  return principal.roles?.includes(role) ?? false
}
