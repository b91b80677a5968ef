import { access } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { TesseraError } from '../../errors/index.ts'
import { configError, validateSystem } from './define-system.ts'
import { importConfig } from './import-config.ts'
import type { SystemConfig } from './schema.ts'

/**
 * Imports a `tessera.config.ts` (compiled with esbuild when Node cannot run it) and validates its
 * default export. Resolves with the config and its folder, the root entries are relative
 * to. Rejects with NOT_FOUND when the file is missing, VALIDATION when the config is wrong.
 */
export async function loadSystem(
  file = 'tessera.config.ts',
): Promise<{ config: SystemConfig; root: string }> {
  const path = resolve(file)
  try {
    await access(path)
  } catch {
    throw new TesseraError('NOT_FOUND', `no system config at ${path}`)
  }
  const mod = await importConfig(path)
  const config = mod.default
  const issues = validateSystem(config)
  if (issues.length > 0) throw configError(issues)
  return { config: config as SystemConfig, root: dirname(path) }
}
