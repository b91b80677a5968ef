/**
 * The instance program of the tsx fallback (`build: false`): `node --import tsx
 * bootstrap.ts`. Entries are imported from disk as they are, through tsx's loader.
 * The default path runs a bundle the supervisor built instead (see ../build/).
 */
import { pathToFileURL } from 'node:url'
import { createTransport } from '../config/create-transport.ts'
import { runInstance } from './run-instance.ts'

await runInstance({
  load: (entry) => import(pathToFileURL(entry).href) as Promise<Record<string, unknown>>,
  transport: createTransport,
})
